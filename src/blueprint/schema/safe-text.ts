/**
 * Typed text fields: every blueprint string that ends up in a rendered file (HAProxy's config and
 * maps, the static server's config, an engine's command line or mount table) is checked here, at
 * the schema, for the shape its destination allows. Each check returns why a value is refused (or
 * undefined), naming the offending character visibly, so the diagnostic can say what to write.
 * Encoders at each destination refuse the same characters again (defence in depth); see
 * docs/design/security.md.
 */

/** A character as a reader can see it: `"\n"`, `" "`, `"#"`, `U+00A0`. */
export function showChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f) return JSON.stringify(ch);
  if (code > 0x7e) return `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  return `'${ch}'`;
}

/** RFC 3986 `pchar` plus `/`, with `%` only as `%XX`: what an HTTP path may hold verbatim. */
const PATH_CHAR = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;

/**
 * An HTTP path: starts with `/`, then only the characters RFC 3986 allows in a path, `%XX`
 * escapes and nothing else. Refuses whitespace, control characters, `#`, `?`, quotes, `\`,
 * non-ASCII (percent-encode it) and `..` segments.
 */
export function urlPathProblem(value: string, opts: { readonly glob?: boolean } = {}): string | undefined {
  if (!value.startsWith("/")) return "must start with /";
  if (value.length > 1024) return "is longer than 1024 characters";
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === "%") {
      if (!/^%[0-9A-Fa-f]{2}$/.test(value.slice(i, i + 3))) return `has a '%' at position ${i + 1} that is not followed by two hex digits (write %25 for a literal %)`;
      i += 2;
      continue;
    }
    if (opts.glob && ch === "*") continue;
    if (!PATH_CHAR.test(ch)) return `contains ${showChar(ch)} at position ${i + 1}, which a path may not hold`;
  }
  if (value.split("/").some((seg) => seg === "..")) return "contains a '..' segment";
  return undefined;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A host name per RFC 1123: dot-separated labels of letters, digits and inner dashes (1-63
 * characters each, 253 in all), at least two labels; optionally a leading `*.` wildcard.
 */
export function hostnameProblem(value: string, opts: { readonly wildcard?: boolean } = {}): string | undefined {
  const name = opts.wildcard && value.startsWith("*.") ? value.slice(2) : value;
  if (name.length === 0) return "is empty";
  if (name.length > 253) return "is longer than 253 characters";
  const bad = [...name].find((ch) => !/[A-Za-z0-9.-]/.test(ch));
  if (bad !== undefined) return `contains ${showChar(bad)}, which a host name may not hold (letters, digits, '-' and '.' only; IDNs in their xn-- form)`;
  const labels = name.toLowerCase().split(".");
  if (labels.length < 2) return "needs at least two labels, e.g. app.example.com";
  const badLabel = labels.find((l) => !LABEL.test(l));
  if (badLabel !== undefined) return badLabel === "" ? "has an empty label (two dots in a row, or a leading or trailing dot)" : `label '${badLabel}' must be 1-63 letters, digits or dashes, not starting or ending with a dash`;
  return undefined;
}

/** A file-system name segment Berth accepts: no spaces, quotes, control characters or shell syntax. */
const FS_CHAR = /[A-Za-z0-9._@+=,-]/;

function fsSegmentsProblem(segments: readonly string[], value: string): string | undefined {
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch !== "/" && !FS_CHAR.test(ch)) return `contains ${showChar(ch)} at position ${i + 1}; use letters, digits and . _ - @ + = , only`;
  }
  if (segments.some((s) => s === "..")) return "contains a '..' segment: it must stay inside the source tree";
  return undefined;
}

/**
 * A directory relative to the source tree (rootDir) or to rootDir (publishDir): no absolute
 * paths, no `..` segments, no characters outside a conservative set. The build also refuses
 * symlinks that leave the tree; this check is the first line.
 */
export function relativePathProblem(value: string): string | undefined {
  if (value.length === 0) return "is empty (write . for the top)";
  if (value.length > 512) return "is longer than 512 characters";
  if (value.startsWith("/")) return "must be relative to the repository (remove the leading /)";
  if (value.startsWith("~")) return "must be relative to the repository, not a home directory";
  return fsSegmentsProblem(value.split("/"), value);
}

/** Where a disk appears inside the sandbox: an absolute path outside the system directories. */
export function mountPathProblem(value: string): string | undefined {
  if (!value.startsWith("/")) return "must be absolute, e.g. /data";
  if (value.length > 512) return "is longer than 512 characters";
  const problem = fsSegmentsProblem(value.split("/"), value);
  if (problem) return problem;
  const norm = value.replace(/\/+$/, "").replace(/\/+/g, "/") || "/";
  if (norm === "/") return "cannot be the root directory";
  const reserved = ["/usr", "/etc", "/proc", "/dev", "/sys", "/bin", "/sbin", "/lib", "/lib64", "/tmp"];
  const hit = reserved.find((r) => norm === r || norm.startsWith(`${r}/`));
  if (hit) return `is inside ${hit}, which the sandbox provides itself; use a path such as /data or /var/data`;
  return undefined;
}

/** A redirect or rewrite target: a path, or an absolute http(s) URL without whitespace or control characters. */
export function targetProblem(value: string): string | undefined {
  if (value.startsWith("/")) {
    const q = value.search(/[?#]/);
    const pathPart = q < 0 ? value : value.slice(0, q);
    const p = urlPathProblem(pathPart, { glob: true });
    if (p) return p;
    return visibleAsciiProblem(value.slice(pathPart.length));
  }
  if (!/^https?:\/\//i.test(value)) return "must be a path starting with / or an http(s):// URL";
  return visibleAsciiProblem(value);
}

/** Only printable ASCII without spaces, quotes or backslashes (header names, URL remainders). */
export function visibleAsciiProblem(value: string): string | undefined {
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (!/[\x21-\x7e]/.test(ch) || ch === '"' || ch === "\\") return `contains ${showChar(ch)} at position ${i + 1}`;
  }
  return undefined;
}

/** An HTTP header value: printable text (tab and space allowed), no control characters or line breaks. */
export function headerValueProblem(value: string): string | undefined {
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch !== "\t" && !/[\x20-\x7e]/.test(ch)) return `contains ${showChar(ch)} at position ${i + 1}; header values are printable ASCII`;
  }
  return undefined;
}

/** An HTTP header name: an RFC 9110 token. */
export function headerNameProblem(value: string): string | undefined {
  if (value.length === 0) return "is empty";
  const bad = [...value].find((ch) => !/[A-Za-z0-9!#$%&'*+.^_`|~-]/.test(ch));
  return bad === undefined ? undefined : `contains ${showChar(bad)}; header names are letters, digits and !#$%&'*+.^_\`|~-`;
}
