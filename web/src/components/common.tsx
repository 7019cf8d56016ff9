import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";
import type { Campaign, CampaignState } from "../api/client";

/** The state a user sees: a pending campaign whose start is ahead is "scheduled". */
export function displayState(c: Pick<Campaign, "state" | "settings">): string {
  const start = c.settings.scheduled_start_time;
  if (c.state === "pending" && start && new Date(start).getTime() > Date.now()) return "scheduled";
  return c.state;
}

export function StateBadge({ state }: { state: CampaignState | string }) {
  return <span class={`badge badge-${state}`}>{state}</span>;
}

export function ProgressBar({ done, total, label }: { done: number; total: number; label: string }) {
  const pct = total > 0 ? Math.round((done / total) * 100) : 0;
  return (
    <div class="progress-wrap">
      <div class="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
        <div class="progress-fill" style={{ width: `${pct}%` }} />
      </div>
      <span class="progress-text">
        {done}/{total} ({pct}%)
      </span>
    </div>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const msg = error instanceof Error ? error.message : String(error);
  return (
    <div class="error-box" role="alert">
      {msg}
    </div>
  );
}

export function FieldError({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <p id={id} class="field-error" role="alert">
      {message}
    </p>
  );
}

/** A modal dialog (native <dialog>: focus trap, Escape to close). */
export function Dialog({ open, title, onClose, children }: { open: boolean; title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  // Its own id: a page holds several dialogs, and a shared id would name them all after the first.
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby={titleId} onClose={onClose} onCancel={onClose}>
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}

export function Spinner({ label }: { label: string }) {
  return (
    <p class="muted" role="status">
      {label}
    </p>
  );
}
