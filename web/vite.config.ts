import { defineConfig } from "vite";

// Static files only: dist/index.html + dist/assets/<name>-<hash>.{js,css}. The dev server
// (`campaigns dev`) serves them at `/`; on AWS they go to the web bucket behind CloudFront.
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    target: "es2022",
    sourcemap: false,
    // One small bundle: the whole app is well under the 200 KB budget (tests/unit/budget.test.mjs).
    modulePreload: { polyfill: false },
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  server: {
    // `npm run dev` against a running `campaigns dev` on :3000.
    proxy: Object.fromEntries(
      ["/campaigns", "/agents", "/dnc", "/openapi.json", "/health", "/config.json", "/dev"].map((p) => [p, "http://127.0.0.1:3000"]),
    ),
  },
});
