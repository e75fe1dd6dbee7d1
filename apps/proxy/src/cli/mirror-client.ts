/**
 * A small pull client for a running mirror, as docker would talk to it: a request
 * answered 401 gets a token from the challenge's realm (the mirror's /auth/token) for the
 * challenged scope, then is sent again. Redirects (e.g. presigned S3 URLs) are followed
 * without the Authorization header.
 */
export interface MirrorClientOptions {
  base: URL;
  /** `user:password` for the token realm (a private image, proxy mode). */
  credentials?: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function challengeOf(header: string | null): { realm: string; service?: string; scope?: string } | undefined {
  if (!header || !/^bearer /i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const match of header.slice(7).matchAll(/([a-z_]+)="([^"]*)"/gi)) params[match[1]!.toLowerCase()] = match[2]!;
  return params.realm ? { realm: params.realm, service: params.service, scope: params.scope } : undefined;
}

export class MirrorClient {
  private readonly tokens = new Map<string, string>();

  constructor(private readonly options: MirrorClientOptions) {}

  /** GETs `path` on the mirror; the response is the final one (after auth and redirects). */
  async get(path: string, accept?: string): Promise<Response> {
    const url = new URL(path, this.options.base);
    const headers: Record<string, string> = accept ? { accept } : {};
    const scopeKey = path.split('/').slice(2, -2).join('/');
    const known = this.tokens.get(scopeKey);
    let response = await this.follow(url, known ? { ...headers, authorization: `Bearer ${known}` } : headers);
    const challenge = response.status === 401 ? challengeOf(response.headers.get('www-authenticate')) : undefined;
    if (challenge) {
      await response.body?.cancel();
      const token = await this.token(challenge);
      this.tokens.set(scopeKey, token);
      response = await this.follow(url, { ...headers, authorization: `Bearer ${token}` });
    }
    return response;
  }

  private async follow(url: URL, headers: Record<string, string>): Promise<Response> {
    let current = url;
    let sendHeaders = headers;
    for (let hop = 0; hop < 5; hop++) {
      const response = await fetch(current, { headers: sendHeaders, redirect: 'manual' });
      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || !location) return response;
      await response.body?.cancel();
      const next = new URL(location, current);
      if (next.origin !== current.origin) {
        const { authorization: _dropped, ...rest } = sendHeaders;
        sendHeaders = rest;
      }
      current = next;
    }
    throw new Error(`${url.pathname}: too many redirects`);
  }

  private async token(challenge: { realm: string; service?: string; scope?: string }): Promise<string> {
    const url = new URL(challenge.realm);
    if (challenge.service) url.searchParams.set('service', challenge.service);
    if (challenge.scope) url.searchParams.set('scope', challenge.scope);
    const headers: Record<string, string> = {};
    // The credentials are for the mirror: never sent to a realm on another origin.
    if (this.options.credentials && url.origin === this.options.base.origin) {
      headers.authorization = `Basic ${Buffer.from(this.options.credentials).toString('base64')}`;
    }
    const response = await fetch(url, { headers });
    if (response.status !== 200)
      throw new Error(`token for ${challenge.scope ?? 'the mirror'}: ${response.status} ${(await response.text()).slice(0, 200)}`);
    const body = (await response.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new Error('the token service sent no token');
    return token;
  }
}
