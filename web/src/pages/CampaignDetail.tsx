import { useState } from "preact/hooks";
import { api, ApiError, download, ok, type Campaign, type Contact, type ContactState } from "../api/client";
import { actionLabel, actionsFor, isLive, runAction, type Action } from "../actions";
import { CallsOverTime, OutcomeChart } from "../components/charts";
import { Dialog, displayState, ErrorBox, ProgressBar, Spinner, StateBadge } from "../components/common";
import { fmtDate, fmtDuration, fmtPercent, fmtRelative } from "../format";
import { useLoad, usePolling } from "../hooks";
import { go } from "../router";
import { ContactsTable } from "./ContactsTable";
import { SimulateButton } from "./Simulation";
import { useActivity } from "./activity";

const DAY = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

export function CampaignDetail({ id }: { id: string }) {
  const { data: c, error, loading, reload, setData } = useLoad(() => ok(api().GET("/campaigns/{id}", { params: { path: { id } } })), [id]);
  const live = !!c && isLive(c);
  // While calls move: the campaign every 5 s (one GetItem), the contacts table with it.
  const [tick, setTick] = useState(0);
  usePolling(
    async () => {
      const fresh = await reload();
      setTick((t) => t + 1);
      return fresh;
    },
    5000,
    live,
  );
  const activity = useActivity(id, live, c?.stats.calls_placed ?? 0);
  if (error instanceof ApiError && error.status === 404)
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title">Campaign not found</h1>
        <p>There is no such campaign among yours.</p>
        <a href="#/">Back to campaigns</a>
      </section>
    );
  if (!c)
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title">Campaign</h1>
        {loading && <Spinner label="Loading the campaign…" />}
        <ErrorBox error={error} />
      </section>
    );
  return (
    <section aria-labelledby="page-title" data-campaign-id={c.id}>
      <Header c={c} onChanged={(x) => setData(x)} />
      <ErrorBox error={error} />
      <Stats c={c} />
      <div class="two-col">
        <OutcomeChart
          title="Contacts by state"
          slices={[
            { label: "Completed", value: c.stats.completed, cls: "fill-completed" },
            { label: "Failed", value: c.stats.failed, cls: "fill-failed" },
            { label: "Skipped", value: c.stats.skipped, cls: "fill-skipped" },
            { label: "Retrying", value: c.stats.retrying, cls: "fill-retrying" },
            { label: "Calling", value: c.stats.calling, cls: "fill-calling" },
            { label: "Pending", value: c.stats.pending, cls: "fill-pending" },
          ]}
        />
        <CallsOverTime title="Calls over time" times={activity.times} />
      </div>
      <WaitingFor c={c} />
      <div class="two-col">
        <Settings c={c} />
        <section class="card" aria-labelledby="agent-title">
          <h2 id="agent-title">Agent</h2>
          <p>
            <strong>{c.agent.name}</strong>
          </p>
          <p class="prompt">{c.agent.prompt_text}</p>
          <p class="muted small">A copy taken when the campaign was created.</p>
        </section>
      </div>
      <ContactsTable campaignId={c.id} refreshKey={tick} />
    </section>
  );
}

function Header({ c, onChanged }: { c: Campaign; onChanged: (c: Campaign) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [confirm, setConfirm] = useState(false);
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
  const del = async () => {
    setBusy(true);
    try {
      await ok(api().DELETE("/campaigns/{id}", { params: { path: { id: c.id } } }));
      setConfirm(false);
      go("/");
    } catch (e) {
      setError(e);
      setConfirm(false);
    } finally {
      setBusy(false);
    }
  };
  const exportCsv = async () => {
    setError(null);
    try {
      await download(`/campaigns/${c.id}/export.csv`, `${c.name.replace(/[^\w.-]+/g, "_") || "campaign"}.csv`);
    } catch (e) {
      setError(e);
    }
  };
  const finished = c.stats.completed + c.stats.failed + c.stats.skipped;
  const startBlocked = c.state === "draft" && c.import.state !== "imported";
  return (
    <header class="detail-head">
      <div class="page-head">
        <div>
          <p class="crumbs">
            <a href="#/">Campaigns</a> /
          </p>
          <h1 id="page-title">{c.name}</h1>
          <p class="muted small">
            Created {fmtDate(c.created_at)}
            {c.started_at && <> · started {fmtDate(c.started_at)}</>}
            {c.completed_at && <> · finished {fmtDate(c.completed_at)}</>}
          </p>
        </div>
        <StateBadge state={displayState(c)} />
      </div>
      <ProgressBar done={finished} total={c.stats.total} label="Campaign progress" />
      {c.import.state !== "imported" && (
        <p role="status" class="notice">
          Import: <strong>{c.import.state.replace("_", " ")}</strong>
          {c.import.error && <> — {c.import.error}</>}
        </p>
      )}
      {c.state === "pending" && (
        <p role="status" class="notice">
          {displayState(c) === "scheduled"
            ? `Scheduled: calls start at ${fmtDate(c.settings.scheduled_start_time, c.settings.timezone)} (${c.settings.timezone}).`
            : "Starting: the first calls are placed in a moment."}
        </p>
      )}
      {c.failure_reason && (
        <p class="error-box" role="alert">
          {c.failure_reason}
        </p>
      )}
      <div class="actions">
        {actionsFor(c).map((a) => (
          <button key={a} type="button" class={a === "pause" ? "btn" : "btn btn-primary"} disabled={busy || (a === "start" && startBlocked)} onClick={() => act(a)}>
            {actionLabel[a]}
          </button>
        ))}
        {/* The dry run beside Start: who would be called when, who waits or is skipped and why. */}
        {c.state !== "completed" && c.state !== "failed" && c.import.state === "imported" && <SimulateButton c={c} />}
        <button type="button" class="btn" onClick={exportCsv}>
          Export CSV
        </button>
        <button type="button" class="btn btn-danger" disabled={busy || c.state === "running"} title={c.state === "running" ? "Pause the campaign before deleting it" : undefined} onClick={() => setConfirm(true)}>
          Delete
        </button>
      </div>
      <ErrorBox error={error} />
      <Dialog open={confirm} title="Delete this campaign?" onClose={() => setConfirm(false)}>
        <p>
          “{c.name}” and its {c.stats.total} contacts, their call history and the uploaded file are removed. This cannot be undone.
        </p>
        <div class="actions">
          <button type="button" class="btn btn-danger" disabled={busy} onClick={del}>
            Delete campaign
          </button>
          <button type="button" class="btn" onClick={() => setConfirm(false)} autofocus>
            Keep it
          </button>
        </div>
      </Dialog>
    </header>
  );
}

function Stats({ c }: { c: Campaign }) {
  const s = c.stats;
  const cards: [string, string][] = [
    ["Total contacts", String(s.total)],
    ["Completed", String(s.completed)],
    ["Failed", String(s.failed)],
    ["Success rate", fmtPercent(s.success_rate)],
    ["Avg duration", fmtDuration(s.average_duration_seconds)],
    ["Calls placed", String(s.calls_placed)],
  ];
  return (
    <dl class="stat-cards" aria-label="Statistics">
      {cards.map(([k, v]) => (
        <div class="card stat" key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** What a running or paused campaign is waiting for (`stats.waiting` of GET /campaigns/{id}):
 * "why isn't it dialing?" in the API's own sentence, and the next instant anything can happen. */
function WaitingFor({ c }: { c: Campaign }) {
  const w = c.stats.waiting;
  if (!w || (c.state !== "running" && c.state !== "paused")) return null;
  return (
    <p class="notice" role="status" data-testid="waiting-for">
      {w.summary}
      {w.next_event_at && w.reason !== "dialing" && (
        <>
          {" "}
          (next: <time dateTime={w.next_event_at}>{fmtDate(w.next_event_at, c.settings.timezone)}</time>)
        </>
      )}
    </p>
  );
}

function Settings({ c }: { c: Campaign }) {
  const s = c.settings;
  const bh = s.business_hours;
  return (
    <section class="card" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <dl class="kv">
        <dt>Time zone</dt>
        <dd>{s.timezone}</dd>
        <dt>Start</dt>
        <dd>{s.scheduled_start_time ? fmtDate(s.scheduled_start_time, s.timezone) : "when started"}</dd>
        <dt>Business hours</dt>
        <dd>{bh.enabled ? `${bh.days.map((d) => DAY[d]).join(", ")} ${bh.start_time}–${bh.end_time}` : "any time (08:00–21:00 in each contact's zone)"}</dd>
        <dt>Pacing</dt>
        <dd>{s.pacing.delay_seconds} s between calls</dd>
        <dt>Calls at once</dt>
        <dd>{s.max_concurrent_calls}</dd>
        <dt>Retries</dt>
        <dd>
          {s.retry_policy.max_retries} after {s.retry_policy.backoff_hours.join(", ")} h, on {s.retry_policy.retryable_outcomes.join(", ")}
        </dd>
        <dt>Contacts' hours</dt>
        <dd>
          {s.recipient_hours ? `${s.recipient_hours.start_time}–${s.recipient_hours.end_time}` : "08:00–21:00"} their time
        </dd>
        {s.blocked_dates && s.blocked_dates.length > 0 && (
          <>
            <dt>No calls on</dt>
            <dd>{s.blocked_dates.join(", ")}</dd>
          </>
        )}
        {s.frequency_cap && (
          <>
            <dt>Per number</dt>
            <dd>
              at most {s.frequency_cap.per_24h} calls per 24 h{s.frequency_cap.per_7_days ? `, ${s.frequency_cap.per_7_days} per 7 days` : ""}
            </dd>
          </>
        )}
        <dt>Unknown zone</dt>
        <dd>{s.unknown_timezone === "skip" ? "skipped" : "called in the campaign's zone"}</dd>
        <dt>Last call</dt>
        <dd>{fmtRelative(c.stats.last_called_at)}</dd>
      </dl>
    </section>
  );
}

export type { Contact, ContactState };
