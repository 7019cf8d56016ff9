// Why a call was allowed when it was: one attempt's `audit` (GET /campaigns/{id}/attempts),
// shown in the contact's attempts dialog. See docs/compliance.md for what each rule checks.
import type { Schemas } from "../api/client";
import { fmtDate } from "../format";

type Audit = Schemas["Audit"];
type Rule = Schemas["Rule"];
type Source = Schemas["Source"];
type CapCount = Schemas["CapCount"];

const RULES: Record<Rule, string> = {
  blocked_dates: "Blocked dates",
  business_hours: "Business hours",
  unknown_timezone: "Unknown time zone",
  recipient_window: "Recipient's hours",
  state_rule: "State rule",
  do_not_call: "Do not call",
  frequency_cap: "Frequency cap",
};

const SOURCES: Record<Source, string> = {
  number: "number",
  timezone_column: "time zone column",
  zip_column: "ZIP column",
  state_column: "state column",
  campaign: "campaign's zone",
};

/** A rule's name as the dashboard shows it. */
export function ruleLabel(r: Rule): string {
  return RULES[r] ?? r;
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** "Wed 2026-01-14 13:00 (UTC-05:00)" from the API's local RFC 3339 time, exactly as the server
 * computed it in that zone (no conversion in the browser). */
export function fmtLocal(rfc3339: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.exec(rfc3339);
  if (!m) return rfc3339;
  const day = WEEKDAYS[new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])).getUTCDay()];
  const off = m[5] === "Z" ? "+00:00" : m[5];
  return `${day} ${m[1]}-${m[2]}-${m[3]} ${m[4]} (UTC${off})`;
}

function sources(s: Source[]): string {
  return s.map((x) => SOURCES[x] ?? x).join(" + ");
}

export function fmtCap(c: CapCount): string {
  const day = `${c.in_24h} of ${c.max_24h} in 24 h`;
  return c.max_7_days != null ? `${day}, ${c.in_7_days} of ${c.max_7_days} in 7 days` : `${day} (${c.in_7_days} in 7 days)`;
}

/** One attempt's audit: the recipient's local time in each plausible zone, the states, each
 * rule with its verdict and what it checked, and the frequency cap's count before this call. */
export function AttemptAudit({ attempt, audit }: { attempt: number; audit: Audit }) {
  const cap = audit.rules.find((r) => r.calls)?.calls;
  const id = `audit-${attempt}`;
  return (
    <section class="audit" aria-labelledby={id} data-attempt={attempt}>
      <h3 id={id}>Why call {attempt} was allowed</h3>
      <dl class="kv">
        <dt>Checked at</dt>
        <dd>
          <time dateTime={audit.checked_at}>{fmtDate(audit.checked_at)}</time>
        </dd>
        <dt>Recipient's local time</dt>
        <dd>
          {audit.zones.length === 0 ? (
            "no zone known"
          ) : (
            <ul class="plain">
              {audit.zones.map((z) => (
                <li key={z.zone} data-zone={z.zone}>
                  <span class="mono">{fmtLocal(z.local_time)}</span> in {z.zone} <span class="muted">(from the {sources(z.sources)})</span>
                </li>
              ))}
            </ul>
          )}
        </dd>
        {audit.states.length > 0 && (
          <>
            <dt>State</dt>
            <dd>{audit.states.map((s) => `${s.state} (from the ${sources(s.sources)})`).join(", ")}</dd>
          </>
        )}
        {cap && (
          <>
            <dt>Calls before this one</dt>
            <dd data-testid={`cap-${attempt}`}>{fmtCap(cap)}</dd>
          </>
        )}
      </dl>
      <div class="table-wrap" tabIndex={0}>
        <table class="table rules" aria-label={`Rules checked for call ${attempt}`}>
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Verdict</th>
              <th scope="col">What was checked</th>
            </tr>
          </thead>
          <tbody>
            {audit.rules.map((r, i) => (
              <tr key={`${r.rule}-${i}`} data-rule={r.rule}>
                <th scope="row">{RULES[r.rule] ?? r.rule}</th>
                <td>
                  <span class={`chip verdict-${r.verdict}`}>{r.verdict}</span>
                </td>
                <td class="small">
                  {r.detail}
                  {r.until && <> (until {fmtDate(r.until)})</>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
