// Hash routes (#/campaigns/<id>): the server only ever serves "/", so a reload or a shared link
// works the same on the dev server, on CloudFront and from any static host.
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "campaigns" }
  | { page: "calls" }
  | { page: "new" }
  | { page: "campaign"; id: string }
  | { page: "agents" }
  | { page: "dnc" }
  | { page: "not-found" };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "") || "/";
  if (path === "/" || path === "/campaigns") return { page: "campaigns" };
  if (path === "/calls") return { page: "calls" };
  if (path === "/campaigns/new") return { page: "new" };
  const m = /^\/campaigns\/([0-9a-f]{32})$/.exec(path);
  if (m) return { page: "campaign", id: m[1] };
  if (path === "/agents") return { page: "agents" };
  if (path === "/dnc") return { page: "dnc" };
  return { page: "not-found" };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

export function go(path: string) {
  location.hash = path;
}
