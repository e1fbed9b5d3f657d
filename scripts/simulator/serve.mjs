// Serves a fetch-style handler (Request -> Response) over node:http on loopback: how the fake
// Telesign API (telesign_api.mjs) is reached by a worker under `wrangler dev`.
import { createServer } from "node:http";

/** Serves `handler` on host:port (port 0 picks a free one); resolves to the listening server. */
export function serveFetch(handler, { port, host = "127.0.0.1" }) {
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const request = new Request(`http://${host}${req.url}`, {
      method: req.method,
      headers: /** @type {Record<string, string>} */ (req.headers),
      body: req.method === "GET" || req.method === "HEAD" ? undefined : Buffer.concat(chunks),
    });
    const response = await handler(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
