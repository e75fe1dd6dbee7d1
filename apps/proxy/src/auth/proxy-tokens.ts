/**
 * Tokens the mirror signs for its own clients (proxy mode): compact JWS, ES256, with
 * the Docker token spec's `access` claim. Verification checks algorithm, signature,
 * issuer, audience and time; anything else is refused.
 */
import { randomUUID, sign, verify } from 'node:crypto';
import type { SigningKey } from './signing-key.js';

export interface Access {
  type: 'repository';
  name: string;
  actions: string[];
}

export interface TokenClaims {
  iss: string;
  aud: string;
  sub: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: Access[];
}

const ISSUER = 'docxy';
const HEADER = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })).toString('base64url');
const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export class ProxyTokens {
  constructor(
    private readonly key: SigningKey,
    /** The mirror's service name (the public host), the tokens' audience. */
    private readonly service: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  issue(subject: string, access: Access[]): { token: string; expiresIn: number; issuedAt: string } {
    const iat = Math.floor(this.now() / 1000);
    const expiresIn = Math.max(60, Math.floor(this.ttlMs / 1000));
    const claims: TokenClaims = {
      iss: ISSUER,
      aud: this.service,
      sub: subject,
      iat,
      nbf: iat - 5,
      exp: iat + expiresIn,
      jti: randomUUID(),
      access,
    };
    const input = `${HEADER}.${encode(claims)}`;
    const signature = sign('sha256', Buffer.from(input), { key: this.key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    return { token: `${input}.${signature}`, expiresIn, issuedAt: new Date(iat * 1000).toISOString() };
  }

  /** The claims of a valid token, else undefined. */
  verify(token: string): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== HEADER) return undefined;
    const ok = verify(
      'sha256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      { key: this.key.publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(parts[2]!, 'base64url'),
    );
    if (!ok) return undefined;
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return undefined;
    }
    const now = Math.floor(this.now() / 1000);
    if (
      claims.iss !== ISSUER ||
      claims.aud !== this.service ||
      !(claims.exp > now) ||
      !(claims.nbf <= now) ||
      !Array.isArray(claims.access)
    )
      return undefined;
    return claims;
  }

  /** Does a valid token grant `action` on repository `name`? */
  allows(claims: TokenClaims, name: string, action: string): boolean {
    return claims.access.some((a) => a.type === 'repository' && a.name === name && a.actions.includes(action));
  }
}
