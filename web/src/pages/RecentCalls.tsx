// Recent Calls: the user's calls across every campaign, newest first (GET /calls), each with
// a link to its campaign; paged like the other lists, filtered by outcome, and refreshed every
// 5 s while on the first page (where new calls appear) or while a call on the page is still on.
import { useState } from "preact/hooks";
import { api, ok, type Call, type Outcome } from "../api/client";
import { HomeTabs } from "../components/HomeTabs";
import { PagedList, usePaged } from "../components/Paged";
import { fmtDate, fmtDuration } from "../format";
import { usePolling } from "../hooks";

const OUTCOMES: Outcome[] = ["completed", "no-answer", "busy", "failed", "canceled", "machine"];
const PAGE = 20;

/** What became of the call, in a word: its outcome once it ended, Twilio's status before. */
export function callStatus(c: Pick<Call, "finished" | "released" | "outcome" | "call_status">): string {
  if (c.released) return "not placed";
  if (c.finished) return c.outcome ?? c.call_status ?? "ended";
  return c.call_status ?? "dialing";
}

function statusClass(c: Call): string {
  if (!c.finished) return "chip chip-calling";
  if (c.outcome === "completed") return "chip chip-completed";
  if (c.released) return "chip";
  return "chip chip-failed";
}

export function RecentCalls() {
  const [outcome, setOutcome] = useState<Outcome | "">("");
  const list = usePaged((cursor) => ok(api().GET("/calls", { params: { query: { outcome: outcome || undefined, limit: PAGE, cursor } } })), [outcome]);
  const live = list.page === 1 || !!list.data?.calls.some((c) => !c.finished);
  usePolling(list.reload, 5000, live);

  return (
    <section aria-labelledby="page-title">
      <HomeTabs current="calls" />
      <div class="page-head">
        <h1 id="page-title">Recent calls</h1>
      </div>
      <div class="toolbar">
        <label for="outcome-filter">Outcome</label>
        <select id="outcome-filter" value={outcome} onChange={(e) => setOutcome((e.currentTarget as HTMLSelectElement).value as Outcome | "")}>
          <option value="">All</option>
          {OUTCOMES.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
        {live && <span class="muted small">Refreshing every 5 s</span>}
      </div>
      <PagedList
        paged={list}
        items={(d) => d.calls}
        loading="Loading calls…"
        label="Call pages"
        empty={
          <div class="empty">
            <p>{outcome ? `No calls ended ${outcome}.` : "No calls yet. Calls appear here as soon as a campaign places them."}</p>
            {!outcome && (
              <a class="btn btn-primary" href="#/">
                Go to campaigns
              </a>
            )}
          </div>
        }
      >
        {(calls) => (
          <div class="table-wrap" tabIndex={0}>
            <table class="table calls" aria-label="Recent calls">
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Campaign</th>
                  <th scope="col">Contact</th>
                  <th scope="col">Phone</th>
                  <th scope="col">Attempt</th>
                  <th scope="col">Status</th>
                  <th scope="col">Duration</th>
                  <th scope="col">Twilio error</th>
                </tr>
              </thead>
              <tbody>
                {calls.map((c) => (
                  <tr key={`${c.campaign_id}/${c.phone}/${c.attempt}/${c.started_at}`} data-campaign-id={c.campaign_id} data-phone={c.phone}>
                    <td>{fmtDate(c.started_at)}</td>
                    <td>
                      <a href={`#/campaigns/${c.campaign_id}`}>{c.campaign_name}</a>
                    </td>
                    <td>{c.contact_name ?? "—"}</td>
                    <td class="mono">{c.phone}</td>
                    <td>{c.attempt}</td>
                    <td>
                      <span class={statusClass(c)}>{callStatus(c)}</span>
                    </td>
                    <td>{fmtDuration(c.duration_seconds)}</td>
                    <td class="wrap">{c.twilio_error ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </PagedList>
    </section>
  );
}
