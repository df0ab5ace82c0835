import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";

// Baked in at build time from the blueprint's VITE_API_URL; same origin when absent.
const API_URL = (import.meta.env.VITE_API_URL ?? "").replace(/\/$/, "");

async function fetchBooks() {
  const res = await fetch(`${API_URL}/books`);
  return res.json();
}

function App() {
  const [books, setBooks] = useState([]);
  const [title, setTitle] = useState("");
  const [error, setError] = useState(null);

  const load = async () => setBooks(await fetchBooks());
  useEffect(() => {
    fetchBooks()
      .then(setBooks)
      .catch((e) => setError(String(e.message ?? e)));
  }, []);

  async function add(event) {
    event.preventDefault();
    const res = await fetch(`${API_URL}/books`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ title }) });
    if (!res.ok) return setError(`adding failed: ${res.status}`);
    setTitle("");
    await load();
  }

  async function upload(book, file) {
    const res = await fetch(`${API_URL}/books/${book.id}/cover?filename=${encodeURIComponent(file.name)}`, { method: "PUT", body: file });
    if (!res.ok) return setError(`upload failed: ${res.status}`);
    await load();
  }

  return (
    <main style={{ fontFamily: "system-ui, sans-serif", maxWidth: 640, margin: "2rem auto" }}>
      <h1>Track My Read</h1>
      <form onSubmit={add}>
        <input value={title} onChange={(e) => setTitle(e.target.value)} placeholder="Book title" />
        <button type="submit">Add</button>
      </form>
      {error && <p role="alert">{error}</p>}
      <ul>
        {books.map((b) => (
          <li key={b.id}>
            {b.title} {b.cover && <img src={`${API_URL}/uploads/${b.cover}`} alt="" height={40} />}
            <input type="file" accept="image/*" onChange={(e) => e.target.files[0] && upload(b, e.target.files[0])} />
          </li>
        ))}
      </ul>
    </main>
  );
}

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
