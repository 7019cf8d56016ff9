import { useEffect, useState } from "preact/hooks";
import { api, ApiError, ok, postForm, putWithProgress, type Agent, type Schemas } from "../api/client";
import { getConfig } from "../auth";
import { AgentForm } from "../components/AgentForm";
import { ErrorBox, FieldError } from "../components/common";
import { TimezoneInput } from "../components/TimezoneInput";
import { fmtBytes } from "../format";
import { useLoad } from "../hooks";
import { go } from "../router";
import { browserZone, isZone, zonedToUtc } from "../tz";
import { ACCEPT, headersFromMessage, preview, previewPart, textHeaders } from "./preview";
import { PreviewPanel, type PreviewState } from "./PreviewPanel";

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const OUTCOMES = ["no-answer", "busy", "failed", "canceled", "machine"] as const;

type Form = {
  name: string;
  agentId: string;
  timezone: string;
  startLocal: string;
  hoursEnabled: boolean;
  days: number[];
  from: string;
  to: string;
  pacing: string;
  maxRetries: string;
  backoff: string;
  outcomes: string[];
  concurrency: string;
  recipientFrom: string;
  recipientTo: string;
  blockedDates: string;
  cap24: string;
  cap7: string;
  unknownTz: string;
};

const initial = (): Form => ({
  name: "",
  agentId: "",
  timezone: browserZone(),
  startLocal: "",
  hoursEnabled: false,
  days: [1, 2, 3, 4, 5],
  from: "09:00",
  to: "17:00",
  pacing: "10",
  maxRetries: "3",
  backoff: "1, 4, 24",
  outcomes: ["no-answer", "busy", "failed"],
  concurrency: "1",
  recipientFrom: "08:00",
  recipientTo: "21:00",
  blockedDates: "",
  cap24: "3",
  cap7: "",
  unknownTz: "campaign",
});

/** Which form control an API field path belongs to ("business_hours.days[1]" -> "days"). */
function fieldKey(field: string): string {
  const f = field.replace(/\[\d+\]/g, "");
  const map: Record<string, string> = {
    name: "name",
    agent_id: "agent",
    timezone: "timezone",
    scheduled_start_time: "start",
    "pacing.delay_seconds": "pacing",
    pacing: "pacing",
    "business_hours.days": "days",
    "business_hours.start_time": "hours",
    "business_hours.end_time": "hours",
    business_hours: "hours",
    "retry_policy.max_retries": "retries",
    "retry_policy.backoff_hours": "backoff",
    "retry_policy.retryable_outcomes": "outcomes",
    retry_policy: "retries",
    max_concurrent_calls: "concurrency",
    phone_column: "columns",
    name_column: "columns",
    recipient_hours: "recipient",
    "recipient_hours.start_time": "recipient",
    "recipient_hours.end_time": "recipient",
    blocked_dates: "blocked",
    frequency_cap: "cap",
    "frequency_cap.per_24h": "cap",
    "frequency_cap.per_7_days": "cap",
    unknown_timezone: "unknowntz",
  };
  return map[f] ?? "";
}

type Stage = { kind: "idle" } | { kind: "creating" } | { kind: "uploading"; fraction: number } | { kind: "importing"; id: string; found: number };

export function CreateCampaign() {
  const cfg = getConfig();
  const cap = cfg.max_inline_file_bytes ?? 4 * 1024 * 1024;
  const [form, setForm] = useState<Form>(initial);
  const set = <K extends keyof Form>(k: K, v: Form[K]) => setForm((f) => ({ ...f, [k]: v }));
  const agents = useLoad(() => ok(api().GET("/agents", { params: { query: { limit: 100 } } })), []);
  const [newAgentAsked, setNewAgent] = useState(false);
  // A user without agents sees the form at once (in the same render that shows the empty list).
  const newAgent = newAgentAsked || agents.data?.agents.length === 0;
  const [file, setFile] = useState<File | null>(null);
  const [dragging, setDragging] = useState(false);
  const [pv, setPv] = useState<PreviewState>({});
  const [headers, setHeaders] = useState<string[]>([]);
  const [phoneCol, setPhoneCol] = useState("");
  const [nameCol, setNameCol] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<Error | null>(null);
  const [stage, setStage] = useState<Stage>({ kind: "idle" });

  useEffect(() => {
    const list = agents.data?.agents ?? [];
    if (!form.agentId && list.length > 0) set("agentId", list[0].id);
  }, [agents.data]);

  // Preview whenever the file or the column choice changes.
  useEffect(() => {
    if (!file) return;
    let cancelled = false;
    (async () => {
      setPv({ loading: true });
      const part = await previewPart(file, cap);
      if (!part) {
        setPv({ skipped: true });
        return;
      }
      try {
        const data = await preview(part.blob, file.name, phoneCol, nameCol);
        if (!cancelled) setPv({ data, partial: part.partial });
      } catch (e) {
        if (cancelled) return;
        setPv({ error: e as Error });
        const seen = e instanceof ApiError ? headersFromMessage(e.message) : [];
        if (seen.length) setHeaders((h) => Array.from(new Set([...h, ...seen])));
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [file, phoneCol, nameCol]);

  const choose = async (f: File | null | undefined) => {
    if (!f) return;
    setFile(f);
    setPhoneCol("");
    setNameCol("");
    setHeaders(await textHeaders(f));
    setErrors((e) => ({ ...e, file: "" }));
  };

  const columnChoices = Array.from(
    new Set([...headers, pv.data?.report.phone_column ?? "", pv.data?.report.name_column ?? "", ...(pv.data?.report.metadata_columns ?? [])].filter((h) => h && !h.includes(" + "))),
  );

  const settings = (): { body?: Schemas["SettingsInput"]; local: Record<string, string> } => {
    const local: Record<string, string> = {};
    if (!isZone(form.timezone)) local.timezone = "Pick a time zone from the list (an IANA name such as Europe/Paris).";
    let start: string | undefined;
    if (form.startLocal) {
      start = zonedToUtc(form.startLocal, isZone(form.timezone) ? form.timezone : "UTC") ?? undefined;
      if (!start) local.start = "Enter a date and time.";
    }
    const backoff = form.backoff
      .split(/[,\s]+/)
      .filter(Boolean)
      .map(Number);
    if (backoff.some((n) => !Number.isFinite(n))) local.backoff = "Hours separated by commas, e.g. 1, 4, 24.";
    const num = (s: string) => (s.trim() === "" ? NaN : Number(s));
    const body: Schemas["SettingsInput"] = {
      name: form.name.trim() || undefined,
      agent_id: form.agentId,
      timezone: form.timezone,
      scheduled_start_time: start,
      pacing: { delay_seconds: num(form.pacing) },
      business_hours: { enabled: form.hoursEnabled, days: form.days, start_time: form.from, end_time: form.to },
      retry_policy: { max_retries: num(form.maxRetries), backoff_hours: backoff, retryable_outcomes: form.outcomes },
      max_concurrent_calls: num(form.concurrency),
      recipient_hours: { start_time: form.recipientFrom, end_time: form.recipientTo },
      blocked_dates: form.blockedDates.split(/[,\s]+/).filter(Boolean),
      frequency_cap: { per_24h: num(form.cap24), per_7_days: form.cap7.trim() ? num(form.cap7) : undefined },
      unknown_timezone: form.unknownTz,
      phone_column: phoneCol || undefined,
      name_column: nameCol || undefined,
    };
    return { body, local };
  };

  const fail = (e: unknown) => {
    if (e instanceof ApiError && e.field && fieldKey(e.field)) {
      setErrors({ [fieldKey(e.field)]: e.message });
      setGeneral(null);
      document.getElementById(`f-${fieldKey(e.field)}`)?.focus();
    } else if (e instanceof ApiError && ["no_phone_column", "unknown_column", "empty_file", "corrupt_file", "unsupported_format", "file_too_large", "too_many_rows"].includes(e.code)) {
      setErrors({ file: e.message });
      setGeneral(null);
    } else setGeneral(e as Error);
    setStage({ kind: "idle" });
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setGeneral(null);
    if (!file) {
      setErrors({ file: "Choose a contact file." });
      document.getElementById("f-file")?.focus();
      return;
    }
    if (!form.agentId) {
      setErrors({ agent: "Choose an agent, or create one." });
      return;
    }
    const { body, local } = settings();
    if (Object.keys(local).length) {
      setErrors(local);
      document.getElementById(`f-${Object.keys(local)[0]}`)?.focus();
      return;
    }
    const key = crypto.randomUUID();
    try {
      if (file.size <= cap) {
        setStage({ kind: "creating" });
        const fd = new FormData();
        fd.append("file", file, file.name);
        fd.append("settings", JSON.stringify(body));
        const created = await postForm<Schemas["CreatedWithFile"]>("/campaigns/create", fd, { "Idempotency-Key": key });
        go(`/campaigns/${created.campaign_id}`);
        return;
      }
      // A big file: a draft with a presigned PUT, the file straight to S3, then the import.
      setStage({ kind: "creating" });
      const draft = await ok(api().POST("/campaigns", { params: { query: { file_name: file.name } }, body: body!, headers: { "Idempotency-Key": key } }));
      setStage({ kind: "uploading", fraction: 0 });
      await putWithProgress(draft.upload.url, draft.upload.headers as Record<string, string>, file, (fraction) => setStage({ kind: "uploading", fraction }));
      setStage({ kind: "importing", id: draft.campaign_id, found: 0 });
      // Follow the import here for up to two minutes; the campaign's page keeps following it.
      const until = Date.now() + 120_000;
      while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, 1000));
        const c = await ok(api().GET("/campaigns/{id}", { params: { path: { id: draft.campaign_id } } }));
        setStage({ kind: "importing", id: draft.campaign_id, found: c.stats.total });
        if (c.import.state === "imported" || c.import.state === "failed") break;
      }
      go(`/campaigns/${draft.campaign_id}`);
    } catch (err) {
      fail(err);
    }
  };

  const busy = stage.kind !== "idle";
  const err = (k: string) => errors[k];
  const described = (k: string, extra?: string) => [err(k) ? `f-${k}-error` : "", extra ?? ""].filter(Boolean).join(" ") || undefined;
  const report = pv.data?.report;

  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <h1 id="page-title">New campaign</h1>
      </div>
      <form class="create-form" onSubmit={submit} noValidate>
        <fieldset class="card">
          <legend>Contacts</legend>
          <div
            class={`dropzone${dragging ? " dragging" : ""}`}
            onDragOver={(e) => {
              e.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={(e) => {
              e.preventDefault();
              setDragging(false);
              choose(e.dataTransfer?.files?.[0]);
            }}
          >
            <p>Drop a CSV, XLSX, XLS, ODS or TXT file here, or</p>
            <label for="f-file" class="btn">
              Choose a file
            </label>
            <input id="f-file" class="visually-hidden" type="file" accept={ACCEPT} aria-describedby={described("file", "f-file-help")} onChange={(e) => choose((e.currentTarget as HTMLInputElement).files?.[0])} />
            <p id="f-file-help" class="muted small">
              {file ? `${file.name} (${fmtBytes(file.size)})` : `Files over ${fmtBytes(cap)} are uploaded straight to storage and imported in the background.`}
            </p>
          </div>
          <FieldError id="f-file-error" message={err("file")} />
          {file && <PreviewPanel pv={pv} />}
          {file && (columnChoices.length > 0 || pv.error) && (
            <div class="columns-pick" role="group" aria-labelledby="cols-title">
              <h3 id="cols-title">Columns</h3>
              <p class="muted small">Detected automatically; pick others if the detection is wrong.</p>
              <div class="row">
                <div class="field">
                  <label for="f-columns">Phone column</label>
                  <select id="f-columns" value={phoneCol} onChange={(e) => setPhoneCol((e.currentTarget as HTMLSelectElement).value)}>
                    <option value="">{report?.phone_column ? `Detected: ${report.phone_column}` : "Detect"}</option>
                    {columnChoices.map((h) => (
                      <option key={h} value={h}>
                        {h}
                      </option>
                    ))}
                  </select>
                </div>
                <div class="field">
                  <label for="f-name-column">Name column</label>
                  <select id="f-name-column" value={nameCol} onChange={(e) => setNameCol((e.currentTarget as HTMLSelectElement).value)}>
                    <option value="">{report?.name_column ? `Detected: ${report.name_column}` : "Detect"}</option>
                    {columnChoices.map((h) => (
                      <option key={h} value={h}>
                        {h}
                      </option>
                    ))}
                  </select>
                </div>
              </div>
              <FieldError id="f-columns-error" message={err("columns")} />
            </div>
          )}
        </fieldset>

        <fieldset class="card">
          <legend>Campaign</legend>
          <div class="field">
            <label for="f-name">Name (optional)</label>
            <input id="f-name" value={form.name} maxLength={400} aria-invalid={!!err("name") || undefined} aria-describedby={described("name")} onInput={(e) => set("name", (e.currentTarget as HTMLInputElement).value)} />
            <FieldError id="f-name-error" message={err("name")} />
          </div>
          <div class="field">
            <label for="f-agent">Agent</label>
            <div class="row">
              <select id="f-agent" data-loaded={agents.data ? "" : undefined} aria-busy={!agents.data || undefined} value={form.agentId} aria-invalid={!!err("agent") || undefined} aria-describedby={described("agent")} onChange={(e) => set("agentId", (e.currentTarget as HTMLSelectElement).value)}>
                {(agents.data?.agents ?? []).length === 0 && <option value="">No agents yet</option>}
                {(agents.data?.agents ?? []).map((a: Agent) => (
                  <option key={a.id} value={a.id}>
                    {a.name}
                  </option>
                ))}
              </select>
              {!newAgent && (
                <button type="button" class="btn" onClick={() => setNewAgent(true)}>
                  New agent…
                </button>
              )}
            </div>
            <FieldError id="f-agent-error" message={err("agent")} />
          </div>
          {newAgent && (
            <AgentForm
              idPrefix="inline-agent"
              onCreated={(a) => {
                agents.setData({ agents: [a, ...(agents.data?.agents ?? [])], next_cursor: agents.data?.next_cursor ?? null });
                set("agentId", a.id);
                setNewAgent(false);
              }}
              onCancel={(agents.data?.agents ?? []).length > 0 ? () => setNewAgent(false) : undefined}
            />
          )}
        </fieldset>

        <fieldset class="card">
          <legend>When to call</legend>
          <div class="row">
            <div class="field">
              <label for="f-timezone">Time zone</label>
              <TimezoneInput id="f-timezone" value={form.timezone} onInput={(v) => set("timezone", v)} describedBy={described("timezone")} invalid={!!err("timezone")} />
              <FieldError id="f-timezone-error" message={err("timezone")} />
            </div>
            <div class="field">
              <label for="f-start">Start time (in that zone; empty: when you press Start)</label>
              <input id="f-start" type="datetime-local" value={form.startLocal} aria-invalid={!!err("start") || undefined} aria-describedby={described("start")} onInput={(e) => set("startLocal", (e.currentTarget as HTMLInputElement).value)} />
              <FieldError id="f-start-error" message={err("start")} />
            </div>
          </div>
          <div class="field">
            <label class="check">
              <input id="f-hours-enabled" type="checkbox" checked={form.hoursEnabled} onChange={(e) => set("hoursEnabled", (e.currentTarget as HTMLInputElement).checked)} /> Only call during business hours
            </label>
          </div>
          {form.hoursEnabled && (
            <div class="hours">
              <fieldset class="days" aria-describedby={described("days")}>
                <legend>Days</legend>
                {DAYS.map((d, i) => (
                  <label key={d} class="check">
                    <input type="checkbox" checked={form.days.includes(i + 1)} onChange={(e) => set("days", (e.currentTarget as HTMLInputElement).checked ? [...form.days, i + 1].sort() : form.days.filter((x) => x !== i + 1))} /> {d}
                  </label>
                ))}
                <FieldError id="f-days-error" message={err("days")} />
              </fieldset>
              <div class="row">
                <div class="field">
                  <label for="f-hours">From</label>
                  <input id="f-hours" type="time" value={form.from} aria-describedby={described("hours")} onInput={(e) => set("from", (e.currentTarget as HTMLInputElement).value)} />
                </div>
                <div class="field">
                  <label for="f-hours-to">To</label>
                  <input id="f-hours-to" type="time" value={form.to} onInput={(e) => set("to", (e.currentTarget as HTMLInputElement).value)} />
                </div>
              </div>
              <FieldError id="f-hours-error" message={err("hours")} />
            </div>
          )}
          <p class="muted small">Whatever the hours, each contact is called only between 08:00 and 21:00 in their own time zone.</p>
        </fieldset>

        <fieldset class="card">
          <legend>Rules for each contact</legend>
          <div class="row">
            <div class="field">
              <label for="f-recipient">Call contacts from (their local time)</label>
              <input id="f-recipient" type="time" min="08:00" max="21:00" value={form.recipientFrom} aria-invalid={!!err("recipient") || undefined} aria-describedby={described("recipient")} onInput={(e) => set("recipientFrom", (e.currentTarget as HTMLInputElement).value)} />
            </div>
            <div class="field">
              <label for="f-recipient-to">Until (their local time)</label>
              <input id="f-recipient-to" type="time" min="08:00" max="21:00" value={form.recipientTo} onInput={(e) => set("recipientTo", (e.currentTarget as HTMLInputElement).value)} />
            </div>
          </div>
          <FieldError id="f-recipient-error" message={err("recipient")} />
          <div class="field">
            <label for="f-blocked">Dates with no calls (in the campaign's zone)</label>
            <input id="f-blocked" placeholder="2026-12-25, 2027-01-01" value={form.blockedDates} aria-invalid={!!err("blocked") || undefined} aria-describedby={described("blocked")} onInput={(e) => set("blockedDates", (e.currentTarget as HTMLInputElement).value)} />
            <FieldError id="f-blocked-error" message={err("blocked")} />
          </div>
          <div class="row">
            <div class="field">
              <label for="f-cap">Calls to one number per 24 h (all campaigns)</label>
              <input id="f-cap" class="num" type="number" min={1} value={form.cap24} aria-invalid={!!err("cap") || undefined} aria-describedby={described("cap")} onInput={(e) => set("cap24", (e.currentTarget as HTMLInputElement).value)} />
            </div>
            <div class="field">
              <label for="f-cap7">Per 7 days (optional)</label>
              <input id="f-cap7" class="num" type="number" min={1} value={form.cap7} onInput={(e) => set("cap7", (e.currentTarget as HTMLInputElement).value)} />
            </div>
            <div class="field">
              <label for="f-unknowntz">When a number's location is unknown</label>
              <select id="f-unknowntz" value={form.unknownTz} aria-describedby={described("unknowntz")} onChange={(e) => set("unknownTz", (e.currentTarget as HTMLSelectElement).value)}>
                <option value="campaign">Call it in the campaign's zone</option>
                <option value="skip">Skip it</option>
              </select>
            </div>
          </div>
          <FieldError id="f-cap-error" message={err("cap")} />
          <FieldError id="f-unknowntz-error" message={err("unknowntz")} />
        </fieldset>

        <fieldset class="card">
          <legend>Pacing and retries</legend>
          <div class="field">
            <label for="f-pacing">Seconds between calls</label>
            <div class="row slider-row">
              <input
                type="range"
                min={5}
                max={60}
                step={1}
                aria-label="Seconds between calls (slider, 5 to 60)"
                value={Math.min(60, Math.max(5, Number(form.pacing) || 5))}
                onInput={(e) => set("pacing", (e.currentTarget as HTMLInputElement).value)}
              />
              <input id="f-pacing" class="num" type="number" min={0} max={3600} inputMode="numeric" value={form.pacing} aria-invalid={!!err("pacing") || undefined} aria-describedby={described("pacing", "f-pacing-help")} onInput={(e) => set("pacing", (e.currentTarget as HTMLInputElement).value)} />
            </div>
            <p id="f-pacing-help" class="muted small">
              The slider covers 5-60 s; type any value from 0 to 3600.
            </p>
            <FieldError id="f-pacing-error" message={err("pacing")} />
          </div>
          <div class="row">
            <div class="field">
              <label for="f-retries">Retries per contact</label>
              <input id="f-retries" class="num" type="number" min={0} max={10} value={form.maxRetries} aria-invalid={!!err("retries") || undefined} aria-describedby={described("retries")} onInput={(e) => set("maxRetries", (e.currentTarget as HTMLInputElement).value)} />
              <FieldError id="f-retries-error" message={err("retries")} />
            </div>
            <div class="field">
              <label for="f-backoff">Wait before each retry (hours)</label>
              <input id="f-backoff" value={form.backoff} aria-invalid={!!err("backoff") || undefined} aria-describedby={described("backoff", "f-backoff-help")} onInput={(e) => set("backoff", (e.currentTarget as HTMLInputElement).value)} />
              <p id="f-backoff-help" class="muted small">
                e.g. 1, 4, 24 (the last repeats; fractions allowed)
              </p>
              <FieldError id="f-backoff-error" message={err("backoff")} />
            </div>
            <div class="field">
              <label for="f-concurrency">Calls at once</label>
              <input id="f-concurrency" class="num" type="number" min={1} max={50} value={form.concurrency} aria-invalid={!!err("concurrency") || undefined} aria-describedby={described("concurrency")} onInput={(e) => set("concurrency", (e.currentTarget as HTMLInputElement).value)} />
              <FieldError id="f-concurrency-error" message={err("concurrency")} />
            </div>
          </div>
          <fieldset class="days" aria-describedby={described("outcomes")}>
            <legend>Retry when the call was</legend>
            {OUTCOMES.map((o) => (
              <label key={o} class="check">
                <input type="checkbox" checked={form.outcomes.includes(o)} onChange={(e) => set("outcomes", (e.currentTarget as HTMLInputElement).checked ? [...form.outcomes, o] : form.outcomes.filter((x) => x !== o))} /> {o}
              </label>
            ))}
            <FieldError id="f-outcomes-error" message={err("outcomes")} />
          </fieldset>
        </fieldset>

        <ErrorBox error={general} />
        {stage.kind === "uploading" && (
          <div class="field">
            <label for="upload-progress">Uploading {file?.name}</label>
            <progress id="upload-progress" max={100} value={Math.round(stage.fraction * 100)}>
              {Math.round(stage.fraction * 100)}%
            </progress>
          </div>
        )}
        {stage.kind === "importing" && (
          <div class="field" role="status">
            <label for="import-progress">Importing contacts… {stage.found > 0 ? `${stage.found} so far` : ""}</label>
            <progress id="import-progress" />
          </div>
        )}
        <div class="actions sticky-actions">
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {stage.kind === "creating" ? "Creating…" : "Create campaign"}
          </button>
          <a class="btn" href="#/">
            Cancel
          </a>
        </div>
      </form>
    </section>
  );
}
