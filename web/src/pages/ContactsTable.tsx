import { useEffect, useState } from "preact/hooks";
import { api, ok, type Contact, type ContactState } from "../api/client";
import { Dialog, ErrorBox, Spinner } from "../components/common";
import { fmtDate, fmtDuration } from "../format";
import { Pager, usePaged } from "../components/Paged";
import { useLoad } from "../hooks";
import { AttemptAudit } from "./AttemptAudit";

const STATES: ContactState[] = ["pending", "calling", "retrying", "completed", "failed", "skipped"];
const PAGE = 25;

/** The campaign's contacts: filter by state, search by phone or name, cursor-paged; a row opens
 * the contact's attempts. `refreshKey` changes when the page around it refreshed. */
export function ContactsTable({ campaignId, refreshKey }: { campaignId: string; refreshKey: number }) {
  const [state, setState] = useState<ContactState | "">("");
  const [search, setSearch] = useState("");
  const [q, setQ] = useState("");
  const [open, setOpen] = useState<Contact | null>(null);
  const contacts = usePaged(
    (cursor) =>
      ok(
        api().GET("/campaigns/{id}/contacts", {
          params: { path: { id: campaignId }, query: { state: q ? undefined : state || undefined, q: q || undefined, limit: PAGE, cursor } },
        }),
      ),
    [campaignId, state, q],
  );
  const { data, error, loading, reload } = contacts;
  // Follow the page's refresh, but only on the first page (a later page keeps what the user reads).
  useEffect(() => {
    if (refreshKey > 0 && contacts.page === 1) reload();
  }, [refreshKey]);
  const metaKeys = Array.from(new Set((data?.contacts ?? []).flatMap((c) => Object.keys(c.metadata)))).slice(0, 4);
  return (
    <section class="card" aria-labelledby="contacts-title">
      <h2 id="contacts-title">Contacts</h2>
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          // The same search again: back to its first page, read afresh.
          if (search.trim() === q) contacts.restart();
          else setQ(search.trim());
        }}
      >
        <label for="contact-state">Status</label>
        <select
          id="contact-state"
          value={state}
          disabled={!!q}
          onChange={(e) => {
            setState((e.currentTarget as HTMLSelectElement).value as ContactState | "");
          }}
        >
          <option value="">All</option>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <label for="contact-search">Search</label>
        <input id="contact-search" type="search" placeholder="Phone digits or name" value={search} onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)} />
        <button type="submit" class="btn">
          Search
        </button>
        {q && (
          <button
            type="button"
            class="btn"
            onClick={() => {
              setSearch("");
              setQ("");
            }}
          >
            Clear
          </button>
        )}
      </form>
      <ErrorBox error={error} />
      {loading && !data && <Spinner label="Loading contacts…" />}
      {data && (
        <div class="table-wrap" tabIndex={0}>
          <table class="table contacts" aria-label="Contacts">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Phone</th>
                <th scope="col">State</th>
                <th scope="col">Outcome</th>
                <th scope="col">Attempts</th>
                <th scope="col">Duration</th>
                <th scope="col">Last call</th>
                {metaKeys.map((k) => (
                  <th scope="col" key={k}>
                    {k}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {data.contacts.length === 0 && (
                <tr>
                  <td colSpan={7 + metaKeys.length} class="muted">
                    {q ? `No contact matches “${q}” on this page.` : "No contacts here."}
                  </td>
                </tr>
              )}
              {data.contacts.map((c) => (
                <tr key={c.phone} data-phone={c.phone}>
                  <td>
                    <button type="button" class="link" onClick={() => setOpen(c)} aria-label={`Attempts of ${c.name || c.phone}`}>
                      {c.name || "(no name)"}
                    </button>
                  </td>
                  <td class="mono">{c.phone}</td>
                  <td>
                    <span class={`chip chip-${c.state}`}>{c.state}</span>
                  </td>
                  <td>{c.outcome ?? "—"}</td>
                  <td>{c.attempts}</td>
                  <td>{fmtDuration(c.duration_seconds)}</td>
                  <td>{fmtDate(c.last_call_at)}</td>
                  {metaKeys.map((k) => (
                    <td key={k}>{c.metadata[k] ?? ""}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager paged={contacts} label="Contact pages" />
      <Dialog open={!!open} title={open ? `${open.name || open.phone}: call attempts` : ""} onClose={() => setOpen(null)}>
        {open && <Attempts campaignId={campaignId} contact={open} />}
        <div class="actions">
          <button type="button" class="btn" onClick={() => setOpen(null)}>
            Close
          </button>
        </div>
      </Dialog>
    </section>
  );
}

function Attempts({ campaignId, contact }: { campaignId: string; contact: Contact }) {
  const { data, error, loading } = useLoad(() => ok(api().GET("/campaigns/{id}/attempts", { params: { path: { id: campaignId }, query: { phone: contact.phone, limit: 100 } } })), [campaignId, contact.phone]);
  const meta = Object.entries(contact.metadata);
  return (
    <div>
      <dl class="kv">
        <dt>Phone</dt>
        <dd class="mono">{contact.phone}</dd>
        <dt>State</dt>
        <dd>{contact.state}</dd>
        {contact.next_attempt_at && (
          <>
            <dt>Next attempt</dt>
            <dd>{fmtDate(contact.next_attempt_at)}</dd>
          </>
        )}
        {contact.failure_reason && (
          <>
            <dt>Why</dt>
            <dd>{contact.failure_reason}</dd>
          </>
        )}
        <dt>Row in the file</dt>
        <dd>{contact.row}</dd>
        {meta.map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </>
        ))}
      </dl>
      <ErrorBox error={error} />
      {loading && <Spinner label="Loading attempts…" />}
      {data && data.attempts.length === 0 && <p class="muted">Not called yet.</p>}
      {data && data.attempts.length > 0 && (
        <div class="table-wrap" tabIndex={0}>
          <table class="table" aria-label="Attempts">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Started</th>
                <th scope="col">Ended</th>
                <th scope="col">Status</th>
                <th scope="col">Outcome</th>
                <th scope="col">Duration</th>
              </tr>
            </thead>
            <tbody>
              {data.attempts.map((a) => (
                <tr key={`${a.attempt}-${a.started_at}`}>
                  <td>{a.attempt}</td>
                  <td>{fmtDate(a.started_at)}</td>
                  <td>{fmtDate(a.ended_at)}</td>
                  <td>{a.call_status ?? "—"}</td>
                  <td>{a.outcome ?? (a.finished ? "—" : "in progress")}</td>
                  <td>{fmtDuration(a.duration_seconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data?.attempts.map((a) => a.audit && <AttemptAudit key={`audit-${a.attempt}-${a.started_at}`} attempt={a.attempt} audit={a.audit} />)}
    </div>
  );
}
