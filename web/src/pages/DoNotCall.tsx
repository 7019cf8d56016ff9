// The do-not-call list. The API's /dnc routes are being built (their own issue); until they
// are in src/api/schema.d.ts this page says so. When they land: list (paged), add numbers
// (one or a pasted list), remove, and show "skipped: do-not-call" on the campaign's contacts.
export function DoNotCall() {
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Do not call</h1>
      <div class="card">
        <p>Numbers on your do-not-call list are never dialled, in any campaign: a contact on it is marked skipped.</p>
        <p class="muted">Managing the list here arrives with the API's do-not-call routes.</p>
      </div>
    </section>
  );
}
