/** Login: an API token in, an HttpOnly session cookie out (the token is not kept by the page). */
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import type { Who } from "../types.ts";

export function Login(props: { onLogin: (who: Who) => void }) {
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const input = form.elements.namedItem("token") as HTMLInputElement;
    setBusy(true);
    setError(undefined);
    try {
      const who = await api<Who>("POST", "/v1/session", { token: input.value.trim() });
      input.value = "";
      props.onLogin(who);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="login">
      <h1>Berth</h1>
      <form onSubmit={submit}>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" required aria-describedby="token-help" />
        <p id="token-help" class="muted">
          A token from <code>berth token create</code>. The page exchanges it for a session cookie and forgets it.
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Log in
        </button>
      </form>
    </main>
  );
}
