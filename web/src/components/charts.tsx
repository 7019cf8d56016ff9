// Two small hand-made SVG charts: outcomes (a horizontal stacked bar with a legend) and calls
// over time (bars per time bucket). No chart library: a few hundred bytes instead of ~60 KB.

export type Slice = { label: string; value: number; cls: string };

export function OutcomeChart({ slices, title }: { slices: Slice[]; title: string }) {
  const total = slices.reduce((a, s) => a + s.value, 0);
  let x = 0;
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox="0 0 100 8" preserveAspectRatio="none" class="stack" role="img" aria-label={`${title}: ${slices.map((s) => `${s.label} ${s.value}`).join(", ")}`}>
        {total === 0 ? (
          <rect x="0" y="0" width="100" height="8" class="fill-empty" />
        ) : (
          slices.map((s) => {
            const w = (s.value / total) * 100;
            const r = <rect x={x} y="0" width={w} height="8" class={s.cls} />;
            x += w;
            return r;
          })
        )}
      </svg>
      <ul class="legend">
        {slices.map((s) => (
          <li key={s.label}>
            <span class={`swatch ${s.cls}`} aria-hidden="true" /> {s.label}: <strong>{s.value}</strong>
          </li>
        ))}
      </ul>
    </figure>
  );
}

export function CallsOverTime({ times, title }: { times: number[]; title: string }) {
  if (times.length === 0) {
    return (
      <figure class="chart">
        <figcaption>{title}</figcaption>
        <p class="muted">No calls yet.</p>
      </figure>
    );
  }
  const min = Math.min(...times);
  const max = Math.max(...times);
  const span = Math.max(max - min, 60_000);
  const n = 24;
  const buckets = new Array(n).fill(0);
  for (const t of times) buckets[Math.min(n - 1, Math.floor(((t - min) / span) * n))]++;
  const peak = Math.max(...buckets);
  const w = 100 / n;
  const fmt = (t: number) => new Date(t).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox="0 0 100 40" preserveAspectRatio="none" class="bars" role="img" aria-label={`${title}: ${times.length} calls between ${fmt(min)} and ${fmt(max)}, at most ${peak} in one of ${n} intervals`}>
        {buckets.map((b, i) => (
          <rect key={i} x={i * w + w * 0.1} width={w * 0.8} y={40 - (b / peak) * 38} height={(b / peak) * 38} class="fill-bar" />
        ))}
      </svg>
      <div class="axis">
        <span>{fmt(min)}</span>
        <span>{fmt(min + span)}</span>
      </div>
    </figure>
  );
}
