import { useState } from "preact/hooks";
import { api, ok, type Campaign, type CampaignState } from "../api/client";
import { actionLabel, actionsFor, isLive, runAction, type Action } from "../actions";
import { displayState, ErrorBox, ProgressBar, Spinner, StateBadge } from "../components/common";
import { fmtDate, fmtDuration, fmtPercent, fmtRelative } from "../format";
import { useLoad, usePolling } from "../hooks";

const STATES: CampaignState[] = ["draft", "pending", "running", "paused", "completed", "failed"];
const PAGE = 12;

function finished(c: Campaign) {
  return c.stats.completed + c.stats.failed + c.stats.skipped;
}

export function CampaignCard({ c, onChanged }: { c: Campaign; onChanged: (c: Campaign) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const shown = displayState(c);
  const act = async (a: Action) => {
    setBusy(true);
    setError(null);
    try {
      onChanged(await runAction(c.id, a));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const importing = c.import.state !== "imported";
  return (
    <li class="card campaign-card" data-campaign-id={c.id}>
      <div class="card-head">
        <h3>
          <a href={`#/campaigns/${c.id}`}>{c.name}</a>
        </h3>
        <StateBadge state={shown} />
      </div>
      <p class="muted small">Created {fmtDate(c.created_at)}</p>
      {importing ? (
        <p class="small">Import: {c.import.state.replace("_", " ")}</p>
      ) : (
        <ProgressBar done={finished(c)} total={c.stats.total} label={`Progress of ${c.name}`} />
      )}
      <dl class="mini-stats">
        <div>
          <dt>Success rate</dt>
          <dd>{fmtPercent(c.stats.success_rate)}</dd>
        </div>
        <div>
          <dt>Avg duration</dt>
          <dd>{fmtDuration(c.stats.average_duration_seconds)}</dd>
        </div>
        <div>
          <dt>Last called</dt>
          <dd>{fmtRelative(c.stats.last_called_at)}</dd>
        </div>
      </dl>
      <div class="actions">
        {actionsFor(c).map((a) => (
          <button key={a} type="button" class={a === "pause" ? "btn" : "btn btn-primary"} disabled={busy} onClick={() => act(a)} aria-label={`${actionLabel[a]} ${c.name}`}>
            {actionLabel[a]}
          </button>
        ))}
        <a class="btn" href={`#/campaigns/${c.id}`} aria-label={`View ${c.name}`}>
          View
        </a>
      </div>
      <ErrorBox error={error} />
    </li>
  );
}

export function CampaignList() {
  const [state, setState] = useState<CampaignState | "">("");
  // Cursor-paged: a stack of the cursors that led to each page.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const { data, error, loading, reload, setData } = useLoad(
    () => ok(api().GET("/campaigns", { params: { query: { state: state || undefined, limit: PAGE, cursor } } })),
    [state, cursor],
  );
  const live = !!data?.campaigns.some(isLive);
  usePolling(reload, 5000, live);
  const replace = (c: Campaign) => data && setData({ ...data, campaigns: data.campaigns.map((x) => (x.id === c.id ? c : x)) });

  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <h1 id="page-title">Campaigns</h1>
        <a class="btn btn-primary" href="#/campaigns/new">
          New campaign
        </a>
      </div>
      <div class="toolbar">
        <label for="state-filter">Status</label>
        <select
          id="state-filter"
          value={state}
          onChange={(e) => {
            setState((e.currentTarget as HTMLSelectElement).value as CampaignState | "");
            setCursors([undefined]);
          }}
        >
          <option value="">All</option>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        {live && <span class="muted small">Refreshing every 5 s</span>}
      </div>
      <ErrorBox error={error} />
      {loading && !data && <Spinner label="Loading campaigns…" />}
      {data && data.campaigns.length === 0 && (
        <div class="empty">
          <p>{state ? `No ${state} campaigns.` : "No campaigns yet."}</p>
          {!state && (
            <a class="btn btn-primary" href="#/campaigns/new">
              Create your first campaign
            </a>
          )}
        </div>
      )}
      {data && data.campaigns.length > 0 && (
        <ul class="cards" aria-label="Campaigns">
          {data.campaigns.map((c) => (
            <CampaignCard key={c.id} c={c} onChanged={replace} />
          ))}
        </ul>
      )}
      <nav class="pager" aria-label="Pages">
        <button type="button" class="btn" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous
        </button>
        <span class="muted small">Page {cursors.length}</span>
        <button type="button" class="btn" disabled={!data?.next_cursor} onClick={() => data?.next_cursor && setCursors([...cursors, data.next_cursor])}>
          Next
        </button>
      </nav>
    </section>
  );
}
