/** The shell: who is logged in, the header and navigation, and the page of the current route. */
import { useEffect, useState } from "preact/hooks";
import { api, closeStream, onUnauthenticated } from "./api.ts";
import { AccessPage } from "./pages/access.tsx";
import { Login } from "./pages/login.tsx";
import { Overview } from "./pages/overview.tsx";
import { EnvironmentPage } from "./pages/environment.tsx";
import { ServicePage } from "./pages/service.tsx";
import { CronPage } from "./pages/cron.tsx";
import { DatabasesPage } from "./pages/databases.tsx";
import { SecretsPage } from "./pages/secrets.tsx";
import { href, type Route, useRoute } from "./router.ts";
import type { Who } from "./types.ts";
import { Loading } from "./ui.tsx";

export function App() {
  const [who, setWho] = useState<Who | null | undefined>(undefined);
  const route = useRoute();
  useEffect(() => {
    onUnauthenticated(() => {
      closeStream();
      setWho(null);
    });
    api<Who>("GET", "/v1/whoami").then(setWho, () => setWho(null));
  }, []);
  if (who === undefined) return <Loading />;
  if (who === null) return <Login onLogin={setWho} />;
  const logout = async () => {
    await api("DELETE", "/v1/session").catch(() => undefined);
    closeStream();
    setWho(null);
  };
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href({ page: "overview" })}>
          Berth
        </a>
        <nav aria-label="Main">
          <a href={href({ page: "overview" })}>Overview</a>
          {who.role === "owner" && <a href={href({ page: "access" })}>Access</a>}
        </nav>
        <span class="who">
          {who.name} <span class="role">({who.role})</span>
        </span>
        <button type="button" class="link" onClick={logout}>
          Log out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} who={who} />
      </main>
    </>
  );
}

function Page(props: { route: Route; who: Who }) {
  const { route, who } = props;
  switch (route.page) {
    case "overview":
      return <Overview />;
    case "access":
      return <AccessPage />;
    case "environment":
      return <EnvironmentPage project={route.project} environment={route.environment} who={who} />;
    case "service":
      return <ServicePage project={route.project} environment={route.environment} service={route.service} who={who} />;
    case "cron":
      return <CronPage project={route.project} environment={route.environment} who={who} />;
    case "databases":
      return <DatabasesPage project={route.project} environment={route.environment} who={who} />;
    case "secrets":
      return <SecretsPage project={route.project} environment={route.environment} />;
  }
}
