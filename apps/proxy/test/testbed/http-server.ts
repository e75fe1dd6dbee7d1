/** Starts a node:http server on a loopback address and an ephemeral port. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Started {
  server: http.Server;
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function startHttp(handler: http.RequestListener, host = '127.0.0.1'): Promise<Started> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    host,
    port,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = await startHttp(() => {}, host);
  await s.close();
  return s.port;
}
