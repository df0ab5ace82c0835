/**
 * Builds the dashboard into dist/dashboard (scripts/build.sh passes --outDir), served by the
 * daemon under /dashboard/. Preact's automatic JSX runtime; no dev server in production.
 */
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "/dashboard/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "../dist/dashboard", emptyOutDir: true, target: "es2022", reportCompressedSize: true },
  server: { proxy: { "/v1": "http://127.0.0.1:7700" } },
});
