/**
 * How clients authenticate to the mirror, one implementation per `auth.mode`:
 *  - passthrough: clients hold upstream tokens (relayed by /auth/token); the mirror
 *    forwards them and the upstream decides;
 *  - proxy: clients log in to the mirror (htpasswd, or anonymous if allowed) and get a
 *    token it signs; upstream calls use the operator's accounts, never the client's token.
 */
import type { Context } from 'koa';
import { RegistryError, parseScope, type TokenRequest } from '@docxy/proxy-core';
import type { RoutedRegistry } from '../registry-router.js';
import type { Htpasswd } from './htpasswd.js';
import type { Access, ProxyTokens, TokenClaims } from './proxy-tokens.js';

export interface TokenAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

export interface ClientAuth {
  /** `GET /v2/`: throws UNAUTHORIZED unless the client presents acceptable credentials. */
  checkBase(ctx: Context): void;
  /** A repository request: throws UNAUTHORIZED/DENIED, or returns the Authorization to send upstream. */
  admit(ctx: Context, scopeName: string): string | undefined;
  /** `/auth/token`. */
  token(request: Omit<TokenRequest, 'mapName'>, registry: RoutedRegistry, mapName: TokenRequest['mapName']): Promise<TokenAnswer>;
}

export class PassthroughAuth implements ClientAuth {
  checkBase(ctx: Context): void {
    if (!ctx.get('authorization')) throw new RegistryError('UNAUTHORIZED', 'authentication required');
  }

  admit(ctx: Context): string | undefined {
    return ctx.get('authorization') || undefined;
  }

  token(request: Omit<TokenRequest, 'mapName'>, registry: RoutedRegistry, mapName: TokenRequest['mapName']): Promise<TokenAnswer> {
    return registry.tokens.relay({ ...request, mapName });
  }
}

function basicCredentials(authorization: string | undefined): { user: string; password: string } | undefined {
  if (!authorization || !/^basic /i.test(authorization)) return undefined;
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const json = (status: number, value: unknown): TokenAnswer => ({
  status,
  contentType: 'application/json',
  body: Buffer.from(JSON.stringify(value)),
});

export class ProxyAuth implements ClientAuth {
  constructor(
    private readonly tokens: ProxyTokens,
    private readonly users: Htpasswd | undefined,
    private readonly anonymous: boolean,
  ) {}

  private claims(ctx: Context): TokenClaims | undefined {
    const header = ctx.get('authorization');
    return /^bearer /i.test(header) ? this.tokens.verify(header.slice(7).trim()) : undefined;
  }

  checkBase(ctx: Context): void {
    if (!this.claims(ctx)) throw new RegistryError('UNAUTHORIZED', 'authentication required');
  }

  admit(ctx: Context, scopeName: string): undefined {
    const claims = this.claims(ctx);
    if (!claims || !this.tokens.allows(claims, scopeName, 'pull')) throw new RegistryError('UNAUTHORIZED', 'authentication required');
    ctx.state.user = claims.sub || undefined;
    return undefined;
  }

  async token(request: Omit<TokenRequest, 'mapName'>): Promise<TokenAnswer> {
    const params = request.params;
    const credentials =
      basicCredentials(request.authorization) ??
      (params.get('grant_type') === 'password'
        ? { user: params.get('username') ?? '', password: params.get('password') ?? '' }
        : undefined);
    let subject = '';
    if (credentials) {
      if (!this.users || !(await this.users.verify(credentials.user, credentials.password)))
        return json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password' }] });
      subject = credentials.user;
    } else if (!this.anonymous) {
      return json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'this mirror requires a login' }] });
    }
    // Pull-only mirror: only repository pull is ever granted.
    const access: Access[] = [];
    for (const raw of params.getAll('scope').flatMap((s) => s.split(' '))) {
      const scope = parseScope(raw);
      if (scope?.type === 'repository' && scope.actions.some((a) => a === 'pull' || a === '*'))
        access.push({ type: 'repository', name: scope.name, actions: ['pull'] });
    }
    const issued = this.tokens.issue(subject, access);
    return json(200, { token: issued.token, access_token: issued.token, expires_in: issued.expiresIn, issued_at: issued.issuedAt });
  }
}
