/** Regenerates the docs that are derived from code (`npm run docs:gen`). */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderErrorsDoc } from "../src/core/errors-doc.ts";

const root = join(import.meta.dirname, "..");
writeFileSync(join(root, "docs", "errors.md"), renderErrorsDoc());
process.stdout.write("wrote docs/errors.md\n");
