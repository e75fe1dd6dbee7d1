/**
 * A listener of its own for `/metrics` (`metrics.listen`), so scrapers can reach it on an
 * internal address while the mirror's port faces clients. Serves the metrics path only.
 */
import http from 'node:http';
import { bindServer } from '../server.js';

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

export async function startMetricsListener(
  listen: string,
  path: string,
  metricsText: () => Promise<{ contentType: string; text: string }>,
): Promise<MetricsListener> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://metrics');
    if ((req.method !== 'GET' && req.method !== 'HEAD') || url.pathname !== path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metricsText().then(
      ({ contentType, text }) => res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return {
    url: await bindServer(server, listen),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
