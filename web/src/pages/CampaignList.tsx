import { useState } from "preact/hooks";
import { api, ok, type Campaign, type CampaignState } from "../api/client";
import { actionLabel, actionsFor, isLive, runAction, type Action } from "../actions";
import { displayState, ErrorBox, ProgressBar, StateBadge } from "../components/common";
import { HomeTabs } from "../components/HomeTabs";
import { PagedList, usePaged } from "../components/Paged";
import { fmtDate, fmtDuration, fmtPercent, fmtRelative } from "../format";
import { usePolling } from "../hooks";

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
  const list = usePaged((cursor) => ok(api().GET("/campaigns", { params: { query: { state: state || undefined, limit: PAGE, cursor } } })), [state]);
  const { data, reload, setData } = list;
  const live = !!data?.campaigns.some(isLive);
  usePolling(reload, 5000, live);
  const replace = (c: Campaign) => data && setData({ ...data, campaigns: data.campaigns.map((x) => (x.id === c.id ? c : x)) });

  return (
    <section aria-labelledby="page-title">
      <HomeTabs current="campaigns" />
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
      <PagedList
        paged={list}
        items={(d) => d.campaigns}
        loading="Loading campaigns…"
        empty={
          <div class="empty">
            <p>{state ? `No ${state} campaigns.` : "No campaigns yet."}</p>
            {!state && (
              <a class="btn btn-primary" href="#/campaigns/new">
                Create your first campaign
              </a>
            )}
          </div>
        }
      >
        {(campaigns) => (
          <ul class="cards" aria-label="Campaigns">
            {campaigns.map((c) => (
              <CampaignCard key={c.id} c={c} onChanged={replace} />
            ))}
          </ul>
        )}
      </PagedList>
    </section>
  );
}
