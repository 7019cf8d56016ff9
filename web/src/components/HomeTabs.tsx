// The dashboard home's two views, the summary's "Recent Calls" | "Campaigns": links to their
// own routes (#/calls, #/), so a reload or a shared link opens the same tab and Back returns to
// the other one.
export function HomeTabs({ current }: { current: "calls" | "campaigns" }) {
  const tabs = [
    { href: "#/calls", label: "Recent Calls", key: "calls" },
    { href: "#/", label: "Campaigns", key: "campaigns" },
  ] as const;
  return (
    <nav class="tabs" aria-label="Dashboard views">
      {tabs.map((t) => (
        <a key={t.key} href={t.href} class="tab" aria-current={t.key === current ? "page" : undefined}>
          {t.label}
        </a>
      ))}
    </nav>
  );
}
