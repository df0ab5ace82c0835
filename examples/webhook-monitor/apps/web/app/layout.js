export const metadata = { title: "Berth example" };

/** Root layout: plain HTML, no web fonts (next/font/google would need the network at build time). */
export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: "system-ui, sans-serif", margin: "2rem" }}>{children}</body>
    </html>
  );
}
