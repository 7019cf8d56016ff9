import { useState } from "preact/hooks";
import { api, ApiError, ok, type Agent } from "../api/client";
import { ErrorBox, FieldError } from "./common";

/** Create an agent (name + prompt); used on the Agents page and inline in the create form. */
export function AgentForm({ idPrefix, onCreated, onCancel }: { idPrefix: string; onCreated: (a: Agent) => void; onCancel?: () => void }) {
  const [name, setName] = useState("");
  const [prompt, setPrompt] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const fieldErr = (f: string) => (error instanceof ApiError && error.field === f ? error.message : undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    e.stopPropagation();
    setBusy(true);
    setError(null);
    try {
      const a = await ok(api().POST("/agents", { body: { name, prompt_text: prompt } }));
      setName("");
      setPrompt("");
      onCreated(a);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  // A <div role="group"> rather than a nested <form> (it sits inside the campaign form).
  return (
    <div class="agent-form" role="group" aria-labelledby={`${idPrefix}-title`}>
      <h3 id={`${idPrefix}-title`}>New agent</h3>
      <div class="field">
        <label for={`${idPrefix}-name`}>Agent name</label>
        <input id={`${idPrefix}-name`} value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} aria-invalid={!!fieldErr("name") || undefined} aria-describedby={`${idPrefix}-name-error`} />
        <FieldError id={`${idPrefix}-name-error`} message={fieldErr("name")} />
      </div>
      <div class="field">
        <label for={`${idPrefix}-prompt`}>Prompt</label>
        <textarea id={`${idPrefix}-prompt`} rows={4} value={prompt} onInput={(e) => setPrompt((e.currentTarget as HTMLTextAreaElement).value)} aria-invalid={!!fieldErr("prompt_text") || undefined} aria-describedby={`${idPrefix}-prompt-error`} />
        <FieldError id={`${idPrefix}-prompt-error`} message={fieldErr("prompt_text")} />
      </div>
      {error && !(error instanceof ApiError && error.field) && <ErrorBox error={error} />}
      <div class="actions">
        <button type="button" class="btn btn-primary" disabled={busy} onClick={submit}>
          Create agent
        </button>
        {onCancel && (
          <button type="button" class="btn" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </div>
  );
}
