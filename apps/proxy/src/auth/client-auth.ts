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
import { unwrapToken, wrapTokenAnswer } from './registry-token.js';

export interface TokenAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

/** A token request as the client sent it; the mirror decides scopes and credentials. */
export type ClientTokenRequest = Omit<TokenRequest, 'mapName' | 'sendCredentials'>;

/** Where a request goes, and whose credentials the client holds. */
export interface AuthTarget {
  /** The registry the request (or the token request's scopes) is for. */
  registry: RoutedRegistry;
  /** The registry the client's login belongs to (see RegistryRouter.loginRegistry). */
  login: RoutedRegistry;
}

export interface ClientAuth {
  /** `GET /v2/`: throws UNAUTHORIZED unless the client presents acceptable credentials. */
  checkBase(ctx: Context): Promise<void>;
  /** A repository request: throws UNAUTHORIZED/DENIED, or returns the Authorization to send upstream. */
  admit(ctx: Context, scopeName: string, target: AuthTarget): Promise<string | undefined>;
  /** `/auth/token`. */
  token(request: ClientTokenRequest, target: AuthTarget & { mapName: TokenRequest['mapName'] }): Promise<TokenAnswer>;
}

export class PassthroughAuth implements ClientAuth {
  async checkBase(ctx: Context): Promise<void> {
    if (!ctx.get('authorization')) throw new RegistryError('UNAUTHORIZED', 'authentication required');
  }

  /**
   * A client's credentials go only to the registry they belong to: a relayed token to the
   * registry it was issued for, Basic credentials to the registry of the login's Host.
   * Anything else is not forwarded: the request goes anonymously, and where the upstream
   * wants more, its 401 becomes the mirror's challenge for this registry's scope.
   */
  async admit(ctx: Context, _scopeName: string, target: AuthTarget): Promise<string | undefined> {
    const header = ctx.get('authorization');
    if (/^bearer /i.test(header)) {
      const relayed = unwrapToken(header.slice(7).trim());
      return relayed?.registry === target.registry.upstream.name ? `Bearer ${relayed.token}` : undefined;
    }
    if (/^basic /i.test(header) && target.login === target.registry) return header;
    return undefined;
  }

  async token(request: ClientTokenRequest, target: AuthTarget & { mapName: TokenRequest['mapName'] }): Promise<TokenAnswer> {
    const answer = await target.registry.tokens.relay({
      ...request,
      mapName: target.mapName,
      sendCredentials: target.login === target.registry,
    });
    return wrapTokenAnswer(target.registry.upstream.name, answer);
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

  /**
   * The claims of a valid token whose holder may still use the mirror: its user is still
   * in the htpasswd file (re-read when it changes), or, for an anonymous token, anonymous
   * access is still on. A removed user's token is refused at once instead of falling back
   * to the `default` rule for the rest of its life.
   */
  private async claims(ctx: Context): Promise<TokenClaims | undefined> {
    const header = ctx.get('authorization');
    const claims = /^bearer /i.test(header) ? this.tokens.verify(header.slice(7).trim()) : undefined;
    if (!claims) return undefined;
    const stillAdmitted = claims.sub ? ((await this.users?.has(claims.sub)) ?? false) : this.anonymous;
    return stillAdmitted ? claims : undefined;
  }

  async checkBase(ctx: Context): Promise<void> {
    if (!(await this.claims(ctx))) throw new RegistryError('UNAUTHORIZED', 'authentication required');
  }

  async admit(ctx: Context, scopeName: string): Promise<undefined> {
    const claims = await this.claims(ctx);
    if (!claims || !this.tokens.allows(claims, scopeName, 'pull')) throw new RegistryError('UNAUTHORIZED', 'authentication required');
    ctx.state.user = claims.sub || undefined;
    return undefined;
  }

  async token(request: ClientTokenRequest): Promise<TokenAnswer> {
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
