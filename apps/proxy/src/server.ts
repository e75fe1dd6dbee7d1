/**
 * The listening socket: HTTPS when given a certificate slot (`tls` files or ACME; PEM,
 * RSA, EC and PKCS#8 keys are all read by Node's TLS), else HTTP. Slow-client guards and
 * a graceful drain for SIGTERM.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import type { CertificateSlot } from './tls/certificate-slot.js';

export interface RunningServer {
  server: http.Server;
  url: string;
  /** Stops accepting, waits for in-flight requests up to the drain timeout, then closes. */
  drain(): Promise<void>;
}

export function splitListen(listen: string): { host: string; port: number } {
  const index = listen.lastIndexOf(':');
  const host = listen.slice(0, index).replace(/^\[|\]$/g, '');
  return { host, port: Number(listen.slice(index + 1)) };
}

/**
 * The server has no request handler yet: attach one with `server.on('request', app.callback())`.
 * With a slot it is HTTPS and serves the slot's certificate, swapped for new connections
 * whenever the slot changes; until the slot holds one (ACME's first order), handshakes fail.
 */
export function createServer(config: Pick<Config, 'server'>, certificates?: CertificateSlot): http.Server {
  // Node checks header/request timeouts only every connectionsCheckingInterval (30 s by default).
  const options = { connectionsCheckingInterval: Math.min(1_000, config.server.headersTimeoutMs) };
  let server: http.Server;
  if (certificates) {
    const secure = https.createServer(options);
    certificates.bind(secure);
    server = secure;
  } else server = http.createServer(options);
  server.headersTimeout = config.server.headersTimeoutMs;
  // requestTimeout bounds receiving the request, not sending the (possibly huge) response.
  server.requestTimeout = config.server.requestTimeoutMs;
  server.keepAliveTimeout = config.server.keepAliveTimeoutMs;
  return server;
}

/** Binds `server` to a "host:port" listen address; resolves to the URL it is reachable at. */
export async function bindServer(server: http.Server, listenAddress: string): Promise<string> {
  const { host, port } = splitListen(listenAddress);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const scheme = server instanceof https.Server ? 'https' : 'http';
  return `${scheme}://${shownHost}:${address.port}`;
}

export async function listen(server: http.Server, listenAddress: string, drainTimeoutMs: number): Promise<RunningServer> {
  const url = await bindServer(server, listenAddress);
  return {
    server,
    url,
    drain: () =>
      new Promise<void>((resolve) => {
        const hardStop = setTimeout(() => server.closeAllConnections(), drainTimeoutMs);
        // Connections whose download finishes during the drain go idle (keep-alive);
        // close those as they appear instead of waiting for their keep-alive timeout.
        const sweep = setInterval(() => server.closeIdleConnections(), 100);
        hardStop.unref();
        sweep.unref();
        server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => res.setHeader('connection', 'close'));
        server.close(() => {
          clearTimeout(hardStop);
          clearInterval(sweep);
          resolve();
        });
      }),
  };
}
