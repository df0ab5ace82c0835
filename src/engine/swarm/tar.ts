/**
 * A streaming tar (ustar + PAX long names) writer for build contexts: the Docker API's /build
 * takes the context as a tar body. Files are streamed from disk, never held whole in memory (the
 * runtime image's context carries a 120 MB node binary).
 */
import { createReadStream, lstatSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";

/** One entry: a file from disk, literal content, a directory or a symlink. */
export type TarEntry =
  | { readonly kind: "file"; readonly name: string; readonly path: string; readonly mode: number; readonly size: number }
  | { readonly kind: "data"; readonly name: string; readonly data: Buffer; readonly mode: number }
  | { readonly kind: "dir"; readonly name: string; readonly mode: number }
  | { readonly kind: "symlink"; readonly name: string; readonly target: string };

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function header(name: string, type: string, size: number, mode: number, linkname = ""): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name.slice(0, 100), 0, "utf8");
  h.write(octal(mode & 0o7777, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(0, 12), 136);
  h.write("        ", 148);
  h.write(type, 156);
  h.write(linkname.slice(0, 100), 157, "utf8");
  h.write("ustar\u000000", 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7), 148);
  return h;
}

/** A PAX extended header carrying the path (and link target) that do not fit ustar's 100 bytes. */
function pax(name: string, linkname?: string): Buffer[] {
  const record = (key: string, value: string): string => {
    const body = ` ${key}=${value}\n`;
    let len = Buffer.byteLength(body) + 1;
    while (String(len).length + Buffer.byteLength(body) !== len) len++;
    return `${len}${body}`;
  };
  const data = Buffer.from(record("path", name) + (linkname ? record("linkpath", linkname) : ""));
  return [header("PaxHeader", "x", data.length, 0o644), data, Buffer.alloc(pad(data.length))];
}

function pad(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

async function* blocks(entries: Iterable<TarEntry>): AsyncGenerator<Buffer> {
  for (const e of entries) {
    const name = e.kind === "dir" && !e.name.endsWith("/") ? `${e.name}/` : e.name;
    const link = e.kind === "symlink" ? e.target : "";
    if (Buffer.byteLength(name) > 100 || Buffer.byteLength(link) > 100) yield* pax(name, link || undefined);
    if (e.kind === "dir") yield header(name, "5", 0, e.mode);
    else if (e.kind === "symlink") yield header(name, "2", 0, 0o777, e.target);
    else if (e.kind === "data") {
      yield header(name, "0", e.data.length, e.mode);
      yield e.data;
      yield Buffer.alloc(pad(e.data.length));
    } else {
      yield header(name, "0", e.size, e.mode);
      let sent = 0;
      for await (const chunk of createReadStream(e.path)) {
        sent += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (sent !== e.size) throw new Error(`${e.path} changed size while being archived (${e.size} -> ${sent} bytes)`);
      yield Buffer.alloc(pad(e.size));
    }
  }
  yield Buffer.alloc(BLOCK * 2);
}

/** The tar stream of `entries`, in order. */
export function tarStream(entries: Iterable<TarEntry>): Readable {
  return Readable.from(blocks(entries));
}

/** Every file, directory and symlink under `dir`, named below `prefix` (sorted, for stable images). */
export function* dirEntries(dir: string, prefix: string): Generator<TarEntry> {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    const rel = `${prefix}/${name}`;
    const st = lstatSync(full);
    if (st.isSymbolicLink()) yield { kind: "symlink", name: rel, target: readlinkSync(full) };
    else if (st.isDirectory()) {
      yield { kind: "dir", name: rel, mode: st.mode };
      yield* dirEntries(full, rel);
    } else if (st.isFile()) yield { kind: "file", name: rel, path: full, mode: st.mode, size: st.size };
  }
}
