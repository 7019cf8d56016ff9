// The dry run before Start (POST /campaigns/{id}/simulate): who the dialer would call when, in
// each recipient's local time, who would wait or be skipped and why, and when the campaign would
// complete. Nothing is called or stored.
import { useState } from "preact/hooks";
import { api, ok, type Campaign, type Schemas } from "../api/client";
import { Dialog, ErrorBox, Spinner } from "../components/common";
import { fmtDate } from "../format";
import { fmtLocal, ruleLabel } from "./AttemptAudit";

type Simulation = Schemas["Simulation"];
type SimResult = Schemas["SimResult"];

/** Contacts listed in the dialog (the first ones, in file order). */
const ROWS = 20;

const RESULTS: Record<SimResult, string> = {
  completed: "called, answered",
  failed: "called, never answered",
  skipped: "skipped",
  already_finished: "already finished",
  in_call: "in a call now",
};

/** "Preview the schedule": a button beside Start, and the dry run's answer in a dialog. */
export function SimulateButton({ c }: { c: Campaign }) {
  const [open, setOpen] = useState(false);
  const [sim, setSim] = useState<Simulation | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const run = async () => {
    setOpen(true);
    setLoading(true);
    setError(null);
    try {
      setSim(await ok(api().POST("/campaigns/{id}/simulate", { params: { path: { id: c.id } }, body: { limit: ROWS } })));
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  return (
    <>
      <button type="button" class="btn" onClick={run}>
        Preview the schedule
      </button>
      <Dialog open={open} title="Simulated schedule" onClose={() => setOpen(false)}>
        {loading && <Spinner label="Simulating…" />}
        <ErrorBox error={error} />
        {sim && !loading && <SimulationView sim={sim} tz={c.settings.timezone} />}
        <div class="actions">
          <button type="button" class="btn" onClick={() => setOpen(false)}>
            Close
          </button>
        </div>
      </Dialog>
    </>
  );
}

function SimulationView({ sim, tz }: { sim: Simulation; tz: string }) {
  const s = sim.summary;
  const a = sim.assumptions;
  return (
    <div class="simulation">
      <p class="muted small">
        A dry run of the dialer's own rules: nothing is called or stored. Assumed: starting {fmtDate(a.start, tz)}, answered calls last {a.call_seconds} s, unanswered ones ring {a.ring_seconds} s, {Math.round(a.answer_rate * 100)}% of calls
        answered. Times are in the campaign's zone ({tz}) unless marked as the recipient's.
      </p>
      <dl class="kv">
        <dt>Would complete</dt>
        <dd data-testid="sim-completes">{sim.completes_at ? <time dateTime={sim.completes_at}>{fmtDate(sim.completes_at, tz)}</time> : "nothing would be called"}</dd>
        <dt>Would call</dt>
        <dd data-testid="sim-called">
          {s.called} of {s.contacts} contacts, {s.calls} calls ({s.completed} answered, {s.failed} never answered)
          {s.first_call_at && (
            <>
              , from {fmtDate(s.first_call_at, tz)} to {fmtDate(s.last_call_at, tz)}
            </>
          )}
        </dd>
        <dt>Would wait</dt>
        <dd data-testid="sim-waited">
          {s.waited.length === 0 ? (
            "no contact"
          ) : (
            <ul class="plain">
              {s.waited.map((w) => (
                <li key={w.rule}>
                  {w.contacts} for {ruleLabel(w.rule).toLowerCase()}
                </li>
              ))}
            </ul>
          )}
        </dd>
        <dt>Would skip</dt>
        <dd data-testid="sim-skipped">
          {s.skipped === 0 ? (
            "no contact"
          ) : (
            <ul class="plain">
              {s.skip_reasons.map((r) => (
                <li key={r.reason}>
                  {r.contacts}: {r.reason}
                </li>
              ))}
            </ul>
          )}
        </dd>
        {(s.already_finished > 0 || s.in_call > 0) && (
          <>
            <dt>Not simulated</dt>
            <dd>
              {s.already_finished} already finished, {s.in_call} in a call now
            </dd>
          </>
        )}
      </dl>
      <div class="table-wrap" tabIndex={0}>
        <table class="table sim" aria-label="Simulated schedule">
          <caption>
            The first {Math.min(sim.contacts.length, ROWS)} contacts, in file order{sim.next_offset != null && ` (of ${s.contacts})`}
          </caption>
          <thead>
            <tr>
              <th scope="col">Row</th>
              <th scope="col">Phone</th>
              <th scope="col">First call, their time</th>
              <th scope="col">Calls</th>
              <th scope="col">Result</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {sim.contacts.map((p) => {
              const first = p.calls[0];
              return (
                <tr key={p.index} data-phone={p.phone}>
                  <td>{p.index + 1}</td>
                  <td class="mono">{p.phone}</td>
                  <td>
                    {first ? (
                      <>
                        {first.local.map((l) => (
                          <div key={l.zone} data-zone={l.zone}>
                            <span class="mono">{fmtLocal(l.local_time)}</span> <span class="muted small">{l.zone}</span>
                          </div>
                        ))}
                        <div class="muted small">{fmtDate(first.at, tz)} campaign time</div>
                      </>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td>{p.calls.length}</td>
                  <td>{RESULTS[p.result] ?? p.result}</td>
                  <td class="why">{p.reason ?? (p.waited_for.length ? `waits for ${p.waited_for.map((r) => ruleLabel(r).toLowerCase()).join(", ")}` : "")}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}
