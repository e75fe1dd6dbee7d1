/**
 * The plain-HTTP listener beside HTTPS when ACME is on (port 80): answers HTTP-01
 * challenges and liveness probes, and redirects everything else to the HTTPS origin.
 * It never serves registry content, and the redirect's host is one of the configured
 * domains (the request's Host only chooses among them), so it cannot be made to point
 * anywhere else.
 */
import http from 'node:http';
import { bindServer } from '../server.js';
import { CHALLENGE_PREFIX, type ChallengeResponder } from './challenge-responder.js';

export interface HttpListenerOptions {
  listen: string;
  challenges: ChallengeResponder;
  /** Names the redirect may point at; the first is used when the Host names none of them. */
  domains: string[];
  /** The HTTPS origin's port as clients see it (from publicUrl); "" for 443. */
  httpsPort: string;
  /** Called for each challenge answered or missed (logging). */
  onChallenge?(token: string, found: boolean): void;
}

export interface HttpListener {
  url: string;
  close(): Promise<void>;
}

/** Only the path and query of the request line; an absolute-form target loses its host. */
function pathOf(target: string): string {
  if (target.startsWith('/')) return target;
  try {
    const url = new URL(target);
    return `${url.pathname}${url.search}`;
  } catch {
    return '/';
  }
}

export async function startHttpListener(options: HttpListenerOptions): Promise<HttpListener> {
  const port = options.httpsPort ? `:${options.httpsPort}` : '';
  const server = http.createServer((req, res) => {
    const path = pathOf(req.url ?? '/');
    const pathname = path.split('?')[0]!;
    if (pathname.startsWith(CHALLENGE_PREFIX)) {
      const answer = options.challenges.answer(pathname);
      options.onChallenge?.(pathname.slice(CHALLENGE_PREFIX.length), answer !== undefined);
      res.writeHead(answer === undefined ? 404 : 200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      res.end(answer ?? 'no such challenge');
      return;
    }
    if (pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (pathname === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    const requested = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const host = options.domains.includes(requested) ? requested : options.domains[0]!;
    // 301 for reads (browsers, curl -L); 308 keeps the method and body of anything else.
    const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
    res.writeHead(status, { location: `https://${host}${port}${path}`, 'content-length': '0', connection: 'close' }).end();
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  return {
    url: await bindServer(server, options.listen),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
