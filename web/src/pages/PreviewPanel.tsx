// What the create form shows about the chosen file before anything is stored: the parser's
// report from POST /campaigns/preview (contacts found, duplicates, invalid rows with their
// numbers and reasons, the columns it picked and kept) and the first rows.
import type { Preview } from "../api/client";

export type PreviewState = { data?: Preview; partial?: boolean; error?: Error; loading?: boolean; skipped?: boolean };

export function PreviewPanel({ pv }: { pv: PreviewState }) {
  if (pv.loading) return <p role="status" class="muted">Checking the file…</p>;
  if (pv.skipped) return <p class="muted">This spreadsheet is too big to preview here; it is checked when it is imported.</p>;
  if (pv.error)
    return (
      <div class="error-box" role="alert" data-testid="preview-error">
        <strong>This file cannot be imported as it is:</strong> {pv.error.message}
      </div>
    );
  const d = pv.data;
  if (!d) return null;
  const r = d.report;
  const metaCols = r.metadata_columns;
  return (
    <section class="preview" aria-labelledby="preview-title" data-testid="preview">
      <h3 id="preview-title">Preview{pv.partial ? " (first part of the file)" : ""}</h3>
      <dl class="mini-stats">
        <div>
          <dt>Contacts found</dt>
          <dd data-testid="pv-imported">{r.imported}</dd>
        </div>
        <div>
          <dt>Duplicates</dt>
          <dd data-testid="pv-duplicates">{r.duplicates}</dd>
        </div>
        <div>
          <dt>Invalid rows</dt>
          <dd data-testid="pv-invalid">{r.invalid}</dd>
        </div>
        <div>
          <dt>Format</dt>
          <dd>{r.format}</dd>
        </div>
      </dl>
      <p class="small">
        Phone column: <strong>{r.phone_column ?? "(no header: one number a line)"}</strong>; name column: <strong>{r.name_column ?? "none"}</strong>
        {metaCols.length > 0 && (
          <>
            ; also kept: <strong>{metaCols.join(", ")}</strong>
          </>
        )}
      </p>
      {r.errors.length > 0 && (
        <div class="table-wrap" tabIndex={0}>
          <table class="table" aria-label="Rows that will not be imported">
            <caption>Rows that will not be imported{r.errors_truncated > 0 ? ` (and ${r.errors_truncated} more)` : ""}</caption>
            <thead>
              <tr>
                <th scope="col">Row</th>
                <th scope="col">Value</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {r.errors.map((e) => (
                <tr key={e.row}>
                  <td>{e.row}</td>
                  <td>{e.value}</td>
                  <td>{e.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {d.rows.length > 0 && (
        <div class="table-wrap" tabIndex={0}>
          <table class="table" aria-label="First rows">
            <caption>First rows</caption>
            <thead>
              <tr>
                <th scope="col">Row</th>
                <th scope="col">Phone</th>
                <th scope="col">Name</th>
                <th scope="col" title="Every zone the contact may be in: it is called only when its window is open in all of them">Time zones</th>
                {metaCols.map((m) => (
                  <th scope="col" key={m}>
                    {m}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {d.rows.slice(0, 10).map((row) => (
                <tr key={row.row}>
                  <td>{row.row}</td>
                  <td>{row.phone}</td>
                  <td>{row.name ?? ""}</td>
                  <td>{row.zones.join(", ")}</td>
                  {metaCols.map((m) => (
                    <td key={m}>{row.metadata[m] ?? ""}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
