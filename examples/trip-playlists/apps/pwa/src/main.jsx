import { StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";

// Baked in at build time from the blueprint's VITE_API_URL; same origin when absent.
const API_URL = (import.meta.env.VITE_API_URL ?? "").replace(/\/$/, "");

function App() {
  const shared = new URLSearchParams(location.search).get("url") ?? "";
  const [shareUrl, setShareUrl] = useState(shared);
  const [trip, setTrip] = useState(null);
  const [error, setError] = useState(null);

  async function submit(event) {
    event.preventDefault();
    setError(null);
    try {
      const res = await fetch(`${API_URL}/trips`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ shareUrl }) });
      const created = await res.json();
      if (!res.ok) throw new Error(created.error ?? res.statusText);
      setTrip(created);
      // The parser worker picks it up within moments; poll once for the playlist.
      setTimeout(async () => setTrip(await (await fetch(`${API_URL}/trips/${created.id}`)).json()), 1500);
    } catch (e) {
      setError(String(e.message ?? e));
    }
  }

  return (
    <main style={{ fontFamily: "system-ui, sans-serif", maxWidth: 560, margin: "2rem auto" }}>
      <h1>Trip Playlists</h1>
      <form onSubmit={submit}>
        <input value={shareUrl} onChange={(e) => setShareUrl(e.target.value)} placeholder="Paste a trip share link" style={{ width: "75%" }} />
        <button type="submit">Build playlist</button>
      </form>
      {error && <p role="alert">{error}</p>}
      {trip && <pre>{JSON.stringify(trip, null, 2)}</pre>}
    </main>
  );
}

if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
createRoot(document.getElementById("root")).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
