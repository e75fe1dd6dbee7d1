/**
 * A token service like Docker Hub's auth server, for distribution's token auth:
 * anonymous pull on public repositories, `pusher` may push anywhere, `alice` may also
 * pull the private `private/*` repositories. GET and OAuth2 POST forms. Records every
 * request so tests can assert what reached it.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { signJwt } from './jwt.js';
import type { SigningCert } from './pki.js';
import { startHttp, type Started } from './http-server.js';

export const USERS: Record<string, string> = { pusher: 'pusher-secret', alice: 'alice-secret' };

export interface TokenCall {
  method: string;
  user: string | undefined;
  service: string | null;
  scopes: string[];
  authorization: string | undefined;
}

export interface TokenService extends Started {
  realm: string;
  calls: TokenCall[];
  issued: string[];
}

function grant(user: string | undefined, scope: string): string | undefined {
  const [type, name, actions] = [
    scope.slice(0, scope.indexOf(':')),
    scope.slice(scope.indexOf(':') + 1, scope.lastIndexOf(':')),
    scope.slice(scope.lastIndexOf(':') + 1),
  ];
  if (type !== 'repository') return undefined;
  const wanted = actions.split(',');
  const allowed = new Set<string>();
  if (user === 'pusher') for (const a of ['pull', 'push', 'delete', '*']) allowed.add(a);
  else if (user === 'alice' || !name.startsWith('private/')) allowed.add('pull');
  const granted = wanted.filter((a) => allowed.has(a));
  return granted.length ? JSON.stringify({ type, name, actions: granted }) : undefined;
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

export async function startTokenService(options: {
  cert: SigningCert;
  service: string;
  issuer: string;
  ttlSeconds?: number;
}): Promise<TokenService> {
  const calls: TokenCall[] = [];
  const issued: string[] = [];
  const refreshTokens = new Map<string, string>();
  const started = await startHttp(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    const params = req.method === 'POST' ? new URLSearchParams(await readBody(req)) : url.searchParams;
    let user: string | undefined;
    const auth = req.headers.authorization;
    const fail = (): void => {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'incorrect username or password' }));
    };
    if (auth?.toLowerCase().startsWith('basic ')) {
      const [name, password] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (!name || USERS[name] !== password) return fail();
      user = name;
    } else if (params.get('grant_type') === 'password') {
      const name = params.get('username') ?? '';
      if (USERS[name] !== params.get('password')) return fail();
      user = name;
    } else if (params.get('grant_type') === 'refresh_token') {
      user = refreshTokens.get(params.get('refresh_token') ?? '');
      if (!user) return fail();
    }
    const scopes = params
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter(Boolean);
    calls.push({ method: req.method ?? 'GET', user, service: params.get('service'), scopes, authorization: auth });
    const now = Math.floor(Date.now() / 1000);
    const ttl = options.ttlSeconds ?? 300;
    const access = scopes
      .map((s) => grant(user, s))
      .filter((g): g is string => g !== undefined)
      .map((g) => JSON.parse(g) as unknown);
    const token = signJwt(
      {
        iss: options.issuer,
        sub: user ?? '',
        aud: params.get('service') ?? options.service,
        exp: now + ttl,
        nbf: now - 10,
        iat: now,
        jti: randomUUID(),
        access,
      },
      options.cert,
    );
    issued.push(token);
    const body: Record<string, unknown> = { token, access_token: token, expires_in: ttl, issued_at: new Date(now * 1000).toISOString() };
    if (req.method === 'POST' && user && params.get('access_type') === 'offline') {
      const refresh = randomUUID();
      refreshTokens.set(refresh, user);
      body.refresh_token = refresh;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  return { ...started, realm: `${started.url}/token`, calls, issued };
}
