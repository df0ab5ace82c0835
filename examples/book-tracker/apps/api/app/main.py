"""Book tracker API (seed 003): FastAPI under gunicorn with uvicorn workers, bound to $PORT.

Health check on `/` (it queries Postgres, 503 when the database is down). DATABASE_URL may use
postgres:// (Render-style) or postgresql://. Uploaded covers are written to the persistent disk:
Berth names its path in BERTH_DISK_UPLOADS; UPLOAD_DIR is the fallback for other hosts.
"""

import os
import re
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from psycopg2.pool import ThreadedConnectionPool
from starlette.concurrency import run_in_threadpool

STARTED = time.monotonic()
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def database_url() -> str:
    url = os.environ["DATABASE_URL"]
    # Render hands out postgres://; SQLAlchemy wants postgresql://. libpq takes both, but keep
    # the seed's normalisation so the same URL works for either library.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    return url


UPLOAD_DIR = Path(os.environ.get("BERTH_DISK_UPLOADS") or os.environ.get("UPLOAD_DIR") or "uploads")
UPLOAD_DIR.mkdir(parents=True, exist_ok=True)

pool = ThreadedConnectionPool(1, 5, dsn=database_url(), connect_timeout=10)
app = FastAPI(title="book tracker")
origins = [o.strip() for o in os.environ.get("CORS_ORIGINS", "*").split(",") if o.strip()]
app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"], allow_headers=["*"])


@contextmanager
def cursor():
    conn = pool.getconn()
    try:
        with conn, conn.cursor() as cur:  # commits on success, rolls back on error
            yield cur
    finally:
        pool.putconn(conn)


@app.on_event("startup")
def create_tables() -> None:
    # As in the seed: tables are created at start-up, and a failure does not stop the app.
    try:
        with cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(7003001)")  # two gunicorn workers start at once
            cur.execute(
                """CREATE TABLE IF NOT EXISTS books (
                     id serial PRIMARY KEY,
                     title text NOT NULL,
                     cover text,
                     created_at timestamptz NOT NULL DEFAULT now())"""
            )
        print("Database tables initialized successfully!", flush=True)
    except Exception as e:  # noqa: BLE001 - the seed's documented behaviour
        print(f"Warning: could not create tables: {e}", flush=True)


@app.on_event("shutdown")
def close_pool() -> None:
    pool.closeall()


@app.get("/")
def health():
    try:
        with cursor() as cur:
            cur.execute("SELECT count(*) FROM books")
            (books,) = cur.fetchone()
    except Exception as e:  # noqa: BLE001 - any failure means unhealthy
        return JSONResponse({"status": "error", "database": {"status": "down", "error": str(e)}}, status_code=503)
    return {
        "status": "ok",
        "database": {"status": "up", "books": books},
        "uploads": {"dir": str(UPLOAD_DIR), "files": sum(1 for _ in UPLOAD_DIR.iterdir())},
        "uptime": round(time.monotonic() - STARTED, 3),
        "pid": os.getpid(),
    }


@app.get("/books")
def list_books():
    with cursor() as cur:
        cur.execute("SELECT id, title, cover FROM books ORDER BY id")
        return [{"id": i, "title": t, "cover": c} for i, t, c in cur.fetchall()]


@app.post("/books", status_code=201)
def add_book(book: dict):
    title = str(book.get("title") or "").strip()
    if not title:
        raise HTTPException(400, "title is required")
    with cursor() as cur:
        cur.execute("INSERT INTO books (title) VALUES (%s) RETURNING id", (title,))
        (book_id,) = cur.fetchone()
    return {"id": book_id, "title": title, "cover": None}


@app.put("/books/{book_id}/cover")
async def upload_cover(book_id: int, request: Request, filename: str = "cover.bin"):
    """Stores the request body as the book's cover on the persistent disk (no multipart needed)."""
    body = await request.body()
    if not body or len(body) > MAX_UPLOAD_BYTES:
        raise HTTPException(413 if body else 400, f"cover must be 1..{MAX_UPLOAD_BYTES} bytes")
    suffix = re.sub(r"[^A-Za-z0-9.]", "", Path(filename).suffix)[:10]
    name = f"{book_id}-{uuid.uuid4().hex}{suffix}"
    tmp = UPLOAD_DIR / f".{name}.tmp"
    tmp.write_bytes(body)
    tmp.replace(UPLOAD_DIR / name)  # atomic: never a half-written file under its final name

    def record():
        with cursor() as cur:
            cur.execute("UPDATE books SET cover = %s WHERE id = %s", (name, book_id))
            return cur.rowcount

    if await run_in_threadpool(record) == 0:
        (UPLOAD_DIR / name).unlink(missing_ok=True)
        raise HTTPException(404, "no such book")
    return {"id": book_id, "cover": name, "bytes": len(body)}


@app.get("/uploads/{name}")
def get_upload(name: str):
    if not re.fullmatch(r"[A-Za-z0-9.-]+", name) or name.startswith("."):
        raise HTTPException(404, "not found")
    path = UPLOAD_DIR / name
    if not path.is_file():
        raise HTTPException(404, "not found")
    return FileResponse(path)
