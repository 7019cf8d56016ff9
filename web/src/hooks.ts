import { useCallback, useEffect, useRef, useState } from "preact/hooks";

/** Load data; `reload()` fetches again and resolves to whether it succeeded. Errors are kept,
 * not thrown. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const reload = useCallback(async (): Promise<boolean> => {
    const mine = ++seq.current;
    setLoading(true);
    try {
      const d = await load();
      if (mine === seq.current) {
        setData(d);
        setError(null);
      }
      return true;
    } catch (e) {
      if (mine === seq.current) setError(e);
      return false;
    } finally {
      if (mine === seq.current) setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    reload();
  }, [reload]);
  return { data, error, loading, reload, setData };
}

/**
 * Call `tick` every `everyMs` while `enabled`, one call at a time (the next is scheduled only
 * after the previous finished), never while the tab is hidden, and slower after errors: a tick
 * that throws or resolves to `false` (a failed `useLoad` reload) doubles the wait, up to 4x.
 * This is what keeps an open dashboard from hammering the API.
 */
export function usePolling(tick: () => Promise<unknown>, everyMs: number, enabled: boolean) {
  const tickRef = useRef(tick);
  tickRef.current = tick;
  useEffect(() => {
    if (!enabled) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    const schedule = () => {
      if (stopped) return;
      timer = setTimeout(run, everyMs * Math.min(4, 2 ** failures));
    };
    const run = async () => {
      if (stopped) return;
      if (document.visibilityState === "hidden") return schedule();
      try {
        if ((await tickRef.current()) === false) throw new Error("tick failed");
        failures = 0;
      } catch {
        failures++;
      }
      schedule();
    };
    schedule();
    const onVisible = () => {
      if (document.visibilityState === "visible" && !stopped) {
        clearTimeout(timer);
        run();
      }
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [everyMs, enabled]);
}
