// Rendered per request: the API URL comes from the running service's env, not from build time.
export const dynamic = "force-dynamic";

/** Reads an env var by computed name so Next does not inline its build-time value. */
function env(name) {
  return process.env[name];
}

async function apiHealth(apiUrl) {
  if (!apiUrl) return { error: "API_INTERNAL_URL is not set" };
  try {
    const res = await fetch(`${apiUrl.replace(/\/$/, "")}/health`, { cache: "no-store", signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: await res.json() };
  } catch (e) {
    return { error: String(e?.message ?? e) };
  }
}

export default async function Home() {
  const name = env("APP_NAME") ?? "web";
  const apiUrl = env("API_INTERNAL_URL") ?? env("NEXT_PUBLIC_API_URL");
  const health = await apiHealth(apiUrl);
  return (
    <main>
      <h1>{name}</h1>
      <p>
        API: <code>{apiUrl ?? "(none)"}</code>
      </p>
      <pre id="api-health">{JSON.stringify(health, null, 2)}</pre>
    </main>
  );
}
