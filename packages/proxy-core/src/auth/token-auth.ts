/**
 * Upstream bearer auth with the operator's accounts (proxy mode), as a Fetcher layer:
 *  1. a request that already carries Authorization (passthrough) goes as it is;
 *  2. otherwise pick an account, take its cached token for the repository's pull
 *     scope or fetch one from the upstream's trusted realm (Basic credentials of the
 *     account; none for anonymous), and send the request with it;
 *  3. a 401 drops the cached token and is retried once with a fresh one;
 *  4. every answer's quota headers go back to the account pool.
 * Tokens live in a bounded map until shortly before they expire.
 */
import { RegistryError } from '../errors.js';
import type { RealmDiscovery } from './realm-discovery.js';
import type { Account, AccountPool } from '../upstream/account-pool.js';
import { discard, type FetchRequest, type FetchResponse, type Fetcher } from '../fetch/types.js';
import { readBounded } from '../net/read-bounded.js';

export interface TokenAuthOptions {
  discovery: RealmDiscovery;
  accounts: AccountPool;
  /** Fetcher for token requests (no auth layer of its own). */
  tokenFetcher: Fetcher;
  maxTokens?: number;
  now?: () => number;
}

const MAX_TOKEN_ANSWER = 1024 * 1024;
const tokenAnswerTooLarge = (limit: number): Error =>
  new RegistryError('UNAVAILABLE', `upstream token service answer exceeds ${limit} bytes`);

function parseTokenAnswer(body: Buffer): { token?: unknown; access_token?: unknown; expires_in?: number } | undefined {
  try {
    return JSON.parse(body.toString('utf8')) as { token?: unknown; access_token?: unknown; expires_in?: number };
  } catch {
    return undefined;
  }
}

const V2_REPO = /^\/v2\/(.+?)\/(?:manifests|blobs|tags|referrers)\//;

export function withTokenAuth(next: Fetcher, options: TokenAuthOptions): Fetcher {
  const cache = new Map<string, { token: string; expires: number }>();
  const max = options.maxTokens ?? 1000;
  const now = options.now ?? Date.now;

  const fetchToken = async (account: Account, scope: string | undefined, signal?: AbortSignal): Promise<string | undefined> => {
    const auth = await options.discovery.discover();
    if (auth.kind === 'none') return undefined;
    const url = new URL(auth.realm.href);
    if (auth.service) url.searchParams.set('service', auth.service);
    if (scope) url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (account.username)
      headers.authorization = `Basic ${Buffer.from(`${account.username}:${account.password ?? ''}`).toString('base64')}`;
    const response = await options.tokenFetcher({ url, method: 'GET', headers, signal });
    const body = await readBounded(response.body, MAX_TOKEN_ANSWER, tokenAnswerTooLarge);
    if (response.status !== 200)
      throw new RegistryError(
        response.status === 401 ? 'DENIED' : 'UNAVAILABLE',
        `upstream token service refused an account (${response.status})`,
        { status: 502 },
      );
    const parsed = parseTokenAnswer(body);
    const token = parsed?.token ?? parsed?.access_token;
    if (typeof token !== 'string' || !token) throw new RegistryError('UNAVAILABLE', 'upstream token service sent no token');
    // Renew a little early; Docker Hub tokens last 300 s.
    const lifetime = Math.max(30, (typeof parsed?.expires_in === 'number' ? parsed.expires_in : 60) - 15) * 1000;
    cache.set(`${account.username ?? ''}|${scope ?? ''}`, { token, expires: now() + lifetime });
    while (cache.size > max) cache.delete(cache.keys().next().value as string);
    return token;
  };

  const tokenFor = async (account: Account, scope: string | undefined, signal?: AbortSignal): Promise<string | undefined> => {
    const hit = cache.get(`${account.username ?? ''}|${scope ?? ''}`);
    if (hit && hit.expires > now()) return hit.token;
    return fetchToken(account, scope, signal);
  };

  return async (request: FetchRequest): Promise<FetchResponse> => {
    if (request.headers.authorization) return next(request);
    const repo = V2_REPO.exec(request.url.pathname)?.[1];
    const scope = repo ? `repository:${repo}:pull` : undefined;
    const account = options.accounts.pick();
    const send = (token: string | undefined): Promise<FetchResponse> =>
      next(token ? { ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } } : request);
    let response = await send(await tokenFor(account, scope, request.signal));
    if (response.status === 401) {
      discard(response);
      cache.delete(`${account.username ?? ''}|${scope ?? ''}`);
      response = await send(await fetchToken(account, scope, request.signal));
    }
    options.accounts.observe(account, response.status, response.headers);
    return response;
  };
}
