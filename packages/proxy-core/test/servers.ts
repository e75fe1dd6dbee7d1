/** In-process HTTP servers on loopback for unit tests, counting what they receive. */
import { UpstreamRegistry } from '../src/upstream/upstream-registry.js';
import { createRegistryFetchers, createTransport } from '../src/upstream/fetcher-stack.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  url: string;
  requests: http.IncomingMessage[];
  close(): Promise<void>;
}

export async function serve(handler: http.RequestListener, host = '127.0.0.1'): Promise<TestServer> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function readAll(stream: NodeJS.ReadableStream | null | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  if (!stream) return Buffer.alloc(0);
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Unit tests talk to servers on loopback, which production defaults refuse. */
export const LOOPBACK = { addressPolicy: { allowPrivate: true } };

/** An UpstreamRegistry for a test server, over the app's own fetcher stack (no retries). */
export function upstreamAt(url: string, libraryPrefix = true): UpstreamRegistry {
  const config = { name: 'docker.io', url: new URL(url), trustedRealms: [], libraryPrefix };
  return new UpstreamRegistry(config, createRegistryFetchers(createTransport(LOOPBACK), config, { retry: { retries: 0 } }).api);
}
