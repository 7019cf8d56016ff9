// Campaign actions shared by the list and the detail page.
import { api, ok, type Campaign } from "./api/client";

export type Action = "start" | "pause" | "resume";

export function actionsFor(c: Pick<Campaign, "state" | "import">): Action[] {
  switch (c.state) {
    case "draft":
      return ["start"];
    case "pending":
    case "running":
      return ["pause"];
    case "paused":
      return ["resume"];
    default:
      return [];
  }
}

export async function runAction(id: string, action: Action): Promise<Campaign> {
  const opts = { params: { path: { id } } };
  switch (action) {
    case "start":
      return ok(api().POST("/campaigns/{id}/start", opts));
    case "pause":
      return ok(api().POST("/campaigns/{id}/pause", opts));
    case "resume":
      return ok(api().POST("/campaigns/{id}/resume", opts));
  }
}

export const actionLabel: Record<Action, string> = { start: "Start", pause: "Pause", resume: "Resume" };

/** Campaigns whose numbers still move: worth refreshing. */
export function isLive(c: Pick<Campaign, "state" | "import">): boolean {
  return c.state === "running" || c.state === "pending" || c.import.state === "importing" || c.import.state === "awaiting_upload";
}
