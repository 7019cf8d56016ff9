// A cursor-paged list read from the API (campaigns, contacts, agents, do-not-call numbers): the
// stack of cursors that led to the page shown, its Previous/Next pager, and the block every list
// page draws around its rows (error, loading, empty, rows, pager).
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { useLoad } from "../hooks";
import { ErrorBox, Spinner } from "./common";

type Page = { next_cursor?: string | null };

/**
 * Load page after page with `load(cursor)`. A change of `deps` (a filter, a search) starts again
 * from the first page, in the same render (no request for the old page under the new filter).
 */
export function usePaged<T extends Page>(load: (cursor: string | undefined) => Promise<T>, deps: unknown[]) {
  const key = JSON.stringify(deps);
  const [stack, setStack] = useState<{ key: string; cursors: (string | undefined)[] }>({ key, cursors: [undefined] });
  const cursors = stack.key === key ? stack.cursors : [undefined];
  const cursor = cursors[cursors.length - 1];
  const loaded = useLoad(() => load(cursor), [key, cursor]);
  const next = loaded.data?.next_cursor ?? undefined;
  return {
    ...loaded,
    /** 1 for the first page. */
    page: cursors.length,
    hasPrevious: cursors.length > 1,
    hasNext: !!next,
    previous: () => setStack({ key, cursors: cursors.slice(0, -1) }),
    next: () => next && setStack({ key, cursors: [...cursors, next] }),
    /** Back to the first page, read again (after an add or a remove). */
    restart: () => (cursors.length === 1 ? loaded.reload() : setStack({ key, cursors: [undefined] })),
  };
}

export type Paged<T> = ReturnType<typeof usePaged<T & Page>>;

export function Pager({ paged, label = "Pages" }: { paged: Pick<Paged<Page>, "page" | "hasPrevious" | "hasNext" | "previous" | "next">; label?: string }) {
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" class="btn" disabled={!paged.hasPrevious} onClick={paged.previous}>
        Previous
      </button>
      <span class="muted small">Page {paged.page}</span>
      <button type="button" class="btn" disabled={!paged.hasNext} onClick={paged.next}>
        Next
      </button>
    </nav>
  );
}

/** What a list page shows around its rows: the error, "loading", the empty message or the rows
 * (`children`, given the page's items), then the pager. */
export function PagedList<T extends Page, I>({
  paged,
  items,
  loading,
  empty,
  children,
  label,
}: {
  paged: Paged<T>;
  items: (data: T) => I[];
  loading: string;
  empty: ComponentChildren;
  children: (items: I[]) => ComponentChildren;
  label?: string;
}) {
  const rows = paged.data ? items(paged.data) : undefined;
  return (
    <>
      <ErrorBox error={paged.error} />
      {paged.loading && !paged.data && <Spinner label={loading} />}
      {rows && rows.length === 0 && empty}
      {rows && rows.length > 0 && children(rows)}
      <Pager paged={paged} label={label} />
    </>
  );
}
