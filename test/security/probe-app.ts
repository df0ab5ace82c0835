/**
 * The attacker's code for the tenant-isolation test: a probe run as a build command and as a
 * start command. It tries what a hostile project would (read /etc/shadow, the key file, the data
 * dir, another project's files; write outside its directories; open another project's database
 * and the daemon's API) and prints one line per attempt, `PROBE <phase> <name> <ok|denied> <why>`,
 * then (start phase) serves HTTP. Plain JavaScript text, written into the project's directory.
 */
export const PROBE_JS = String.raw`
const fs = require("node:fs");
const net = require("node:net");
const http = require("node:http");
const phase = process.argv[2];
// Builds never see the service's env (nor its secrets): the targets come from a file of the tree too.
const t = JSON.parse(process.env.PROBE_TARGETS || fs.readFileSync("targets.json", "utf8"));
const out = (name, ok, why) => console.log("PROBE " + phase + " " + name + " " + (ok ? "ok" : "denied") + " " + String(why).replace(/\s+/g, " ").slice(0, 120));
const tryFs = (name, fn) => { try { const r = fn(); out(name, true, typeof r === "string" ? r.slice(0, 40) : "done"); } catch (e) { out(name, false, e.code || e.message); } };
// A completed TCP handshake is a breach already: nothing more is needed to talk to a database.
const tryConnect = (name, port) => new Promise((resolve) => {
  const s = net.connect({ host: "127.0.0.1", port }, () => { out(name, true, "connected"); s.destroy(); resolve(); });
  s.setTimeout(3000, () => { s.destroy(); out(name, false, "timeout"); resolve(); });
  s.on("error", (e) => { out(name, false, e.code); resolve(); });
});
(async () => {
  out("whoami", process.getuid() !== 0, "uid=" + process.getuid());
  tryFs("read-shadow", () => fs.readFileSync("/etc/shadow", "utf8"));
  tryFs("read-key-file", () => fs.readFileSync(t.keyFile, "utf8"));
  // The sandbox may show the data dir's path as a skeleton of mount points (names only); what
  // matters is that its content (the store, the key file) is not there.
  tryFs("list-data-dir", () => {
    const l = fs.readdirSync(t.dataDir);
    if (!l.includes("berth.db")) throw Object.assign(new Error(l.join(",")), { code: "SKELETON-ONLY:" + l.join(",") });
    return l.join(",");
  });
  tryFs("read-db-file", () => fs.readFileSync(t.dataDir + "/berth.db").length + " bytes");
  tryFs("read-other-source", () => fs.readFileSync(t.otherSource, "utf8"));
  tryFs("read-other-release", () => fs.readFileSync(t.otherRelease, "utf8"));
  tryFs("write-etc", () => fs.writeFileSync("/etc/berth-probe", "x"));
  tryFs("write-usr", () => fs.writeFileSync("/usr/berth-probe", "x"));
  tryFs("write-data-dir", () => fs.writeFileSync(t.dataDir + "/berth-probe", "x"));
  tryFs("write-other-source", () => fs.writeFileSync(t.otherSourceDir + "/berth-probe", "x"));
  tryFs("write-own-dir", () => fs.writeFileSync("own-probe.txt", "x"));
  await tryConnect("connect-other-database", t.otherDbPort);
  await tryConnect("connect-daemon-api", t.daemonPort);
  await tryConnect("connect-router", t.routerPort);
  if (phase === "start") {
    http.createServer((req, res) => res.end(req.url === "/health" ? "ok" : "attacker")).listen(Number(process.env.PORT), "127.0.0.1");
  }
})();
`;
