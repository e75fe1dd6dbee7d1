/**
 * Passthrough auth: the proxy's `/auth/token` relays a client's token request to the
 * upstream's token service, with `service` set for that upstream and every
 * `repository:` scope mapped to the upstream's name (the `library/` fix-up). The
 * client's credentials (Basic, OAuth2 password or refresh token) go along only when the
 * caller says they belong to this registry (that is how a user's own login lifts their
 * quota), and only ever to a trusted realm; otherwise the request is relayed as an
 * anonymous GET. Both the GET form and the OAuth2 POST form.
 */
import { RegistryError } from '../errors.js';
import type { Fetcher } from '../fetch/types.js';
import { readBounded } from '../net/read-bounded.js';
import { mapScopes } from './scope.js';
import type { RealmDiscovery } from './realm-discovery.js';

const MAX_TOKEN_RESPONSE = 1024 * 1024;
/** Parameters a client may send that the relay passes on (Docker token spec). */
const RELAYED_PARAMS = ['account', 'client_id', 'offline_token', 'grant_type', 'username', 'password', 'refresh_token', 'access_type'];
/** Parameters that carry the client's secrets or only make sense with them (OAuth2 grants). */
const CREDENTIAL_PARAMS = new Set(['grant_type', 'username', 'password', 'refresh_token', 'access_type']);

export interface TokenRequest {
  method: 'GET' | 'POST';
  /** Query string (GET) or form body (POST) as the client sent it. */
  params: URLSearchParams;
  /** The client's Authorization header (Basic), if any. */
  authorization?: string;
  /**
   * Whether the client's credentials belong to this registry. When false, its
   * Authorization, password and refresh token are not sent: the upstream gets an
   * anonymous GET for the same scopes.
   */
  sendCredentials: boolean;
  /** Maps a client-side repository name to the upstream's; undefined drops that scope. */
  mapName: (name: string) => string | undefined;
  signal?: AbortSignal;
}

export interface TokenResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

export class TokenRelay {
  constructor(
    private readonly discovery: RealmDiscovery,
    private readonly fetcher: Fetcher,
    /** Told about tokens handed to clients that sent no credentials (public access). */
    private readonly onAnonymousToken?: (token: string) => void,
  ) {}

  async relay(request: TokenRequest): Promise<TokenResponse> {
    const auth = await this.discovery.discover();
    if (auth.kind === 'none') {
      // The upstream needs no token; hand out an opaque one so clients finish the handshake.
      return json(200, { token: 'anonymous', access_token: 'anonymous', expires_in: 3600 });
    }
    const params = new URLSearchParams();
    if (auth.service) params.set('service', auth.service);
    for (const scope of mapScopes(request.params.getAll('scope'), request.mapName)) params.append('scope', scope);
    for (const key of RELAYED_PARAMS) {
      const value = request.params.get(key);
      if (value !== null && (request.sendCredentials || !CREDENTIAL_PARAMS.has(key))) params.set(key, value);
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (request.sendCredentials && request.authorization && /^basic /i.test(request.authorization))
      headers.authorization = request.authorization;
    // An OAuth2 POST without its grant's credentials is not a valid request; the
    // anonymous form of a token request is the GET.
    const method = request.sendCredentials ? request.method : 'GET';
    const url = new URL(auth.realm.href);
    let body: string | undefined;
    if (method === 'GET') {
      for (const [k, v] of params) url.searchParams.append(k, v);
    } else {
      // OAuth2 form: scopes are one space-separated field.
      const scopes = params.getAll('scope');
      params.delete('scope');
      if (scopes.length) params.set('scope', scopes.join(' '));
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = params.toString();
    }
    const response = await this.fetcher({ url, method, headers, body, signal: request.signal });
    const text = await readBounded(
      response.body,
      MAX_TOKEN_RESPONSE,
      (limit) => new RegistryError('UNAVAILABLE', `upstream token service answer exceeds ${limit} bytes`),
    );
    if (response.status >= 500) throw new RegistryError('UNAVAILABLE', `token service answered ${response.status}`);
    const anonymous = !headers.authorization && !params.get('password') && !params.get('refresh_token');
    if (anonymous && response.status === 200 && this.onAnonymousToken) {
      const token = tokenOf(text);
      if (token) this.onAnonymousToken(token);
    }
    return { status: response.status, contentType: response.headers.get('content-type') ?? 'application/json', body: text };
  }
}

function tokenOf(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { token?: unknown; access_token?: unknown };
    const token = parsed.token ?? parsed.access_token;
    return typeof token === 'string' ? token : undefined;
  } catch {
    return undefined;
  }
}

function json(status: number, value: unknown): TokenResponse {
  return { status, contentType: 'application/json', body: Buffer.from(JSON.stringify(value)) };
}
