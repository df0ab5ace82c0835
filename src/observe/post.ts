/**
 * One HTTP POST for alert channels and log drains. Errors name the host only: a webhook or drain
 * URL may carry a token in its path or query, and fetch's own messages can quote the URL.
 */

/** Where a request went, for errors. */
export function hostOf(url: string, fallback = "the URL"): string {
  try {
    return new URL(url).host;
  } catch {
    return fallback;
  }
}

/**
 * POSTs `body`; throws (naming the host, never the URL) on a failed request or a status >= 300.
 * `what` names the URL when it has no host to name ("the channel's URL").
 */
export async function post(url: string, body: string, headers: Readonly<Record<string, string>>, signal: AbortSignal, what = "the URL"): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", body, headers, signal });
  } catch (e) {
    if (signal.aborted) throw e;
    const cause = (e as { cause?: { code?: unknown } }).cause;
    throw new Error(`${hostOf(url, what)}: ${typeof cause?.code === "string" ? cause.code : "request failed"}`);
  }
  await res.body?.cancel();
  if (res.status >= 300) throw new Error(`${hostOf(url, what)} answered HTTP ${res.status}`);
}
