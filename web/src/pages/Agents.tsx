import { useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { AgentForm } from "../components/AgentForm";
import { ErrorBox, Spinner } from "../components/common";
import { fmtDate } from "../format";
import { useLoad } from "../hooks";

export function Agents() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const { data, error, loading, reload } = useLoad(() => ok(api().GET("/agents", { params: { query: { limit: 20, cursor } } })), [cursor]);
  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <h1 id="page-title">Agents</h1>
      </div>
      <p class="muted">A campaign calls with one agent; it keeps a copy of the agent's name and prompt as they were when the campaign was created.</p>
      <div class="two-col">
        <div>
          <ErrorBox error={error} />
          {loading && !data && <Spinner label="Loading agents…" />}
          {data && data.agents.length === 0 && <p class="empty">No agents yet: create one.</p>}
          {data && data.agents.length > 0 && (
            <ul class="agent-list" aria-label="Agents">
              {data.agents.map((a) => (
                <li key={a.id} class="card">
                  <h2 class="h3">{a.name}</h2>
                  <p class="muted small">Created {fmtDate(a.created_at)}</p>
                  <p class="prompt">{a.prompt_text}</p>
                </li>
              ))}
            </ul>
          )}
          <nav class="pager" aria-label="Pages">
            <button type="button" class="btn" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              Previous
            </button>
            <button type="button" class="btn" disabled={!data?.next_cursor} onClick={() => data?.next_cursor && setCursors([...cursors, data.next_cursor])}>
              Next
            </button>
          </nav>
        </div>
        <div class="card">
          <AgentForm idPrefix="agent" onCreated={() => (cursors.length === 1 ? reload() : setCursors([undefined]))} />
        </div>
      </div>
    </section>
  );
}
