import { useEffect, useRef } from "preact/hooks";
import { currentUser, getConfig, signOut } from "./auth";
import { useRoute } from "./router";
import { CampaignList } from "./pages/CampaignList";
import { RecentCalls } from "./pages/RecentCalls";
import { CreateCampaign } from "./pages/CreateCampaign";
import { CampaignDetail } from "./pages/CampaignDetail";
import { Agents } from "./pages/Agents";
import { DoNotCall } from "./pages/DoNotCall";

export function App() {
  const route = useRoute();
  const cfg = getConfig();
  // Move focus to the new page's heading on navigation (screen readers announce it); not on
  // the first load, where the skip link stays the first stop of the Tab key.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const h = document.querySelector<HTMLElement>("main h1");
    if (h) {
      h.tabIndex = -1;
      h.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }, [route.page, (route as { id?: string }).id]);
  const nav = [
    { href: "#/", label: "Campaigns", active: route.page === "campaigns" || route.page === "calls" || route.page === "campaign" },
    { href: "#/campaigns/new", label: "New campaign", active: route.page === "new" },
    { href: "#/agents", label: "Agents", active: route.page === "agents" },
    { href: "#/dnc", label: "Do not call", active: route.page === "dnc" },
  ];
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="#/">
          Campaigns
        </a>
        <nav aria-label="Main">
          <ul>
            {nav.map((n) => (
              <li key={n.href}>
                <a href={n.href} aria-current={n.active ? "page" : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="user">
          <span class="small" data-testid="user">
            {cfg.auth.mode === "local" ? `${currentUser()} (local)` : currentUser()}
          </span>
          <button type="button" class="btn btn-small" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {route.page === "campaigns" && <CampaignList />}
        {route.page === "calls" && <RecentCalls />}
        {route.page === "new" && <CreateCampaign />}
        {route.page === "campaign" && <CampaignDetail id={route.id} />}
        {route.page === "agents" && <Agents />}
        {route.page === "dnc" && <DoNotCall />}
        {route.page === "not-found" && (
          <section aria-labelledby="page-title">
            <h1 id="page-title">Page not found</h1>
            <a href="#/">Back to campaigns</a>
          </section>
        )}
      </main>
    </>
  );
}
