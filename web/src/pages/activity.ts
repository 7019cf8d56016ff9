// Data for the calls-over-time chart: the start times of the campaign's attempts. Read in
// pages of 100 (at most 1,000 attempts), and again only when the number of calls placed has
// moved and 30 s have passed: the detail page's 5 s refresh is one GetItem, this is the heavy
// read and stays rare.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ok } from "../api/client";

const MAX_ATTEMPTS = 1000;
const MIN_INTERVAL_MS = 30_000;

export function useActivity(id: string, live: boolean, callsPlaced: number) {
  const [times, setTimes] = useState<number[]>([]);
  const last = useRef<{ at: number; calls: number }>({ at: 0, calls: -1 });
  useEffect(() => {
    const now = Date.now();
    const moved = callsPlaced !== last.current.calls;
    const due = now - last.current.at >= MIN_INTERVAL_MS || last.current.calls < 0 || (!live && moved);
    if (!moved || !due) return;
    last.current = { at: now, calls: callsPlaced };
    let cancelled = false;
    (async () => {
      const out: number[] = [];
      let cursor: string | undefined;
      try {
        do {
          const page = await ok(api().GET("/campaigns/{id}/attempts", { params: { path: { id }, query: { limit: 100, cursor } } }));
          for (const a of page.attempts) out.push(new Date(a.started_at).getTime());
          cursor = page.next_cursor ?? undefined;
        } while (cursor && out.length < MAX_ATTEMPTS && !cancelled);
        if (!cancelled) setTimes(out);
      } catch {
        // The chart is a nicety: a failed read leaves the last one shown.
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [id, live, callsPlaced]);
  return { times };
}
