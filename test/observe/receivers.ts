/**
 * Local receivers for alert and drain tests: an HTTP server recording every POST, and a tiny
 * SMTP server (RFC 5321 subset: EHLO/HELO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT)
 * recording mails with the login they were sent under.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import { createServer as createNetServer } from "node:net";

export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export async function startHttpReceiver(status = () => 200): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const code = status();
      if (code < 300) received.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(code, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface Mail {
  readonly from: string;
  readonly to: string[];
  readonly data: string;
  /** The login the client gave (AUTH PLAIN or LOGIN), when it gave one. */
  readonly auth?: { readonly user: string; readonly password: string };
}

export async function startSmtpReceiver(): Promise<{ port: number; mails: Mail[]; close(): Promise<void> }> {
  const mails: Mail[] = [];
  const server = createNetServer((sock) => {
    let from = "";
    let to: string[] = [];
    let inData = false;
    let data = "";
    let buf = "";
    let auth: { user: string; password: string } | undefined;
    /** AUTH in progress: PLAIN waiting for its credentials, or LOGIN waiting for the user, then the password. */
    let authStep: "plain" | "login-user" | "login-pass" | undefined;
    const b64 = (text: string) => Buffer.from(text, "base64").toString("utf8");
    sock.setEncoding("utf8");
    sock.write("220 localhost test SMTP\r\n");
    sock.on("data", (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf("\r\n"); i >= 0; i = buf.indexOf("\r\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            mails.push({ from, to, data, ...(auth ? { auth } : {}) });
            sock.write("250 OK queued\r\n");
          } else data += `${line.startsWith("..") ? line.slice(1) : line}\n`;
          continue;
        }
        if (authStep === "plain") {
          const [, user = "", password = ""] = b64(line).split("\0");
          auth = { user, password };
          authStep = undefined;
          sock.write("235 authenticated\r\n");
          continue;
        }
        if (authStep === "login-user") {
          auth = { user: b64(line), password: "" };
          authStep = "login-pass";
          sock.write(`334 ${Buffer.from("Password:").toString("base64")}\r\n`);
          continue;
        }
        if (authStep === "login-pass") {
          auth = { user: auth?.user ?? "", password: b64(line) };
          authStep = undefined;
          sock.write("235 authenticated\r\n");
          continue;
        }
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === "AUTH") {
          const [, method = "", initial] = line.split(" ");
          if (method.toUpperCase() === "PLAIN" && initial) {
            const [, user = "", password = ""] = b64(initial).split("\0");
            auth = { user, password };
            sock.write("235 authenticated\r\n");
          } else if (method.toUpperCase() === "PLAIN") {
            authStep = "plain";
            sock.write("334 \r\n");
          } else {
            authStep = "login-user";
            sock.write(`334 ${Buffer.from("Username:").toString("base64")}\r\n`);
          }
        } else if (cmd === "EHLO") sock.write("250-localhost\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
        else if (cmd === "HELO") sock.write("250 localhost\r\n");
        else if (cmd === "MAIL") {
          from = /<(.*)>/.exec(line)?.[1] ?? "";
          to = [];
          sock.write("250 OK\r\n");
        } else if (cmd === "RCPT") {
          to.push(/<(.*)>/.exec(line)?.[1] ?? "");
          sock.write("250 OK\r\n");
        } else if (cmd === "DATA") {
          inData = true;
          data = "";
          sock.write("354 end with .\r\n");
        } else if (cmd === "QUIT") {
          sock.end("221 bye\r\n");
        } else if (cmd === "RSET" || cmd === "NOOP") sock.write("250 OK\r\n");
        else sock.write("502 not implemented\r\n");
      }
    });
    sock.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as { port: number }).port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}
