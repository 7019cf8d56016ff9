import { useState } from "preact/hooks";
import { api, ApiError, ok, postForm, type Schemas } from "../api/client";
import { Dialog, ErrorBox, FieldError, Spinner } from "../components/common";
import { PagedList, usePaged } from "../components/Paged";
import { fmtDate } from "../format";
import { ACCEPT } from "./preview";

type Entry = Schemas["DncEntry"];
const SOURCE: Record<string, string> = { api: "added here", upload: "from a file", opt_out: "asked during a call" };

/** The do-not-call list: numbers never dialled in any of the user's campaigns. */
export function DoNotCall() {
  const list = usePaged((cursor) => ok(api().GET("/dnc", { params: { query: { limit: 50, cursor } } })), []);
  const [phone, setPhone] = useState("");
  const [addError, setAddError] = useState<ApiError | Error | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [upload, setUpload] = useState<{ result?: Schemas["DncUploadReport"]; error?: Error; busy?: boolean }>({});
  const [removing, setRemoving] = useState<Entry | null>(null);

  const refresh = list.restart;
  const add = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setAddError(null);
    setAdded(null);
    try {
      const entry = await ok(api().POST("/dnc", { body: { phone } }));
      setAdded(entry.phone);
      setPhone("");
      refresh();
    } catch (err) {
      setAddError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const uploadFile = async (file: File | undefined) => {
    if (!file) return;
    setUpload({ busy: true });
    try {
      const form = new FormData();
      form.append("file", file, file.name);
      const result = await postForm<Schemas["DncUploadReport"]>("/dnc/upload", form);
      setUpload({ result });
      refresh();
    } catch (err) {
      setUpload({ error: err as Error });
    }
  };
  const remove = async () => {
    if (!removing) return;
    setBusy(true);
    try {
      await ok(api().DELETE("/dnc/{phone}", { params: { path: { phone: removing.phone } } }));
      setRemoving(null);
      refresh();
    } catch (err) {
      setAddError(err as Error);
      setRemoving(null);
    } finally {
      setBusy(false);
    }
  };
  const phoneError = addError instanceof ApiError && addError.field === "phone" ? addError.message : undefined;
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Do not call</h1>
      <p class="muted">Numbers on this list are never dialled in any of your campaigns: a contact on it is imported as skipped, with the reason.</p>
      <div class="two-col">
        <div class="card">
          <h2>Numbers</h2>
          <PagedList paged={list} items={(d) => d.items} loading="Loading the list…" empty={<p class="muted">The list is empty.</p>}>
            {(items) => (
              <div class="table-wrap" tabIndex={0}>
                <table class="table" aria-label="Do-not-call numbers">
                  <thead>
                    <tr>
                      <th scope="col">Phone</th>
                      <th scope="col">Added</th>
                      <th scope="col">How</th>
                      <th scope="col">
                        <span class="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((d) => (
                      <tr key={d.phone} data-phone={d.phone}>
                        <td class="mono">{d.phone}</td>
                        <td>{fmtDate(d.added_at)}</td>
                        <td>{SOURCE[d.source] ?? d.source}</td>
                        <td>
                          <button type="button" class="btn btn-small" aria-label={`Remove ${d.phone}`} onClick={() => setRemoving(d)}>
                            Remove
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </PagedList>
        </div>
        <div>
          <form class="card" onSubmit={add} noValidate>
            <h2>Add a number</h2>
            <div class="field">
              <label for="dnc-phone">Phone number</label>
              <input id="dnc-phone" type="tel" autocomplete="off" placeholder="+1 202 555 0123" value={phone} aria-invalid={!!phoneError || undefined} aria-describedby={phoneError ? "dnc-phone-error" : undefined} onInput={(e) => setPhone((e.currentTarget as HTMLInputElement).value)} />
              <FieldError id="dnc-phone-error" message={phoneError} />
            </div>
            {addError && !phoneError && <ErrorBox error={addError} />}
            {added && (
              <p role="status" class="notice">
                {added} is on the list.
              </p>
            )}
            <button type="submit" class="btn btn-primary" disabled={busy || !phone.trim()}>
              Add
            </button>
          </form>
          <div class="card" style={{ marginTop: "0.8rem" }}>
            <h2>Add from a file</h2>
            <p class="muted small">A CSV, XLSX, ODS or TXT file, read like a contact list (the phone column is found the same way).</p>
            <label for="dnc-file" class="btn">
              Choose a file
            </label>
            <input id="dnc-file" class="visually-hidden" type="file" accept={ACCEPT} onChange={(e) => uploadFile((e.currentTarget as HTMLInputElement).files?.[0])} />
            {upload.busy && <Spinner label="Adding the file's numbers…" />}
            {upload.error && <ErrorBox error={upload.error} />}
            {upload.result && (
              <p role="status" class="notice" data-testid="dnc-upload-result">
                Added {upload.result.added} numbers ({upload.result.report.duplicates} duplicates, {upload.result.report.invalid} invalid rows).
              </p>
            )}
          </div>
        </div>
      </div>
      <Dialog open={!!removing} title="Remove from the list?" onClose={() => setRemoving(null)}>
        <p>{removing?.phone} may be called again by campaigns created or imported from now on.</p>
        <div class="actions">
          <button type="button" class="btn btn-danger" disabled={busy} onClick={remove}>
            Remove
          </button>
          <button type="button" class="btn" onClick={() => setRemoving(null)}>
            Keep it
          </button>
        </div>
      </Dialog>
    </section>
  );
}
