/**
 * Entry script of a static service's process, started by the engine like any other service:
 *
 *   node src/router/static/serve.ts --root DIR [--config JSON | --config-file PATH]
 *
 * Listens on $PORT (and $HOST, default 0.0.0.0) and stops gracefully on SIGTERM, so static
 * sites deploy with the same start-first, health-gated, drained rollout as web services.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildStaticApp } from "./app.ts";
import { staticSiteConfigSchema } from "./site-config.ts";

const { values } = parseArgs({
  options: { root: { type: "string" }, config: { type: "string" }, "config-file": { type: "string" } },
  strict: true,
});
if (!values.root) {
  process.stderr.write("usage: serve.ts --root DIR [--config JSON | --config-file PATH]\n");
  process.exit(2);
}
const raw = values["config-file"] ? readFileSync(values["config-file"], "utf8") : (values.config ?? "{}");
const parsed = staticSiteConfigSchema.safeParse(JSON.parse(raw));
if (!parsed.success) {
  process.stderr.write(`invalid static site config: ${parsed.error.message}\n`);
  process.exit(2);
}
const port = Number(process.env.PORT ?? 8080);
const app = await buildStaticApp(resolve(values.root), parsed.data);
await app.listen({ port, host: process.env.HOST ?? "0.0.0.0" });
process.stdout.write(`static site ${values.root} listening on ${port}\n`);
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
