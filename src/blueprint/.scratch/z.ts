import { z } from "zod";
const A = z.strictObject({ type: z.literal("web"), port: z.number().describe("the port"), health: z.strictObject({path: z.string()}).optional() });
const B = z.strictObject({ type: z.literal("cron"), schedule: z.string().refine(s => s.length > 3, { message: "bad cron", params: { berth: "cron" } }) });
const U = z.discriminatedUnion("type", [A, B]);
const R = z.strictObject({ services: z.record(z.string(), U) });
for (const v of [{services: {a: {type: "webb"}}}, {services: {a: {type: "web", prot: 3, port: "x", health: {pth: 1}}}}, {services: {a: {type: "cron", schedule: "x"}}}, {servics: 1}, {services: {a: 5}}])
  console.log(JSON.stringify(R.safeParse(v).error?.issues));
console.log(JSON.stringify(z.toJSONSchema(R)).slice(0, 600));
