import { Cron } from "croner";
for (const e of ["@hourly", "*/15 * * * *", "0 3 * * *", "bad", "61 * * * *", "0 0 * * * *", "@daily"]) {
  try { const c = new Cron(e, { paused: true }); console.log(e, "ok", c.nextRun()?.toISOString()); c.stop(); } catch (err) { console.log(e, "ERR", (err as Error).message); }
}
try { new Cron("* * * * *", { paused: true, timezone: "Nope/Zone" }).nextRun(); console.log("tz ok?"); } catch (e) { console.log("tz err", (e as Error).message); }
