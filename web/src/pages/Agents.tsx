import { api, ok } from "../api/client";
import { AgentForm } from "../components/AgentForm";
import { PagedList, usePaged } from "../components/Paged";
import { fmtDate } from "../format";

export function Agents() {
  const agents = usePaged((cursor) => ok(api().GET("/agents", { params: { query: { limit: 20, cursor } } })), []);
  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <h1 id="page-title">Agents</h1>
      </div>
      <p class="muted">A campaign calls with one agent; it keeps a copy of the agent's name and prompt as they were when the campaign was created.</p>
      <div class="two-col">
        <div>
          <PagedList paged={agents} items={(d) => d.agents} loading="Loading agents…" empty={<p class="empty">No agents yet: create one.</p>}>
            {(list) => (
              <ul class="agent-list" aria-label="Agents">
                {list.map((a) => (
                  <li key={a.id} class="card">
                    <h2 class="h3">{a.name}</h2>
                    <p class="muted small">Created {fmtDate(a.created_at)}</p>
                    <p class="prompt">{a.prompt_text}</p>
                  </li>
                ))}
              </ul>
            )}
          </PagedList>
        </div>
        <div class="card">
          <AgentForm idPrefix="agent" onCreated={agents.restart} />
        </div>
      </div>
    </section>
  );
}
