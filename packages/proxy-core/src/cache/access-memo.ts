/**
 * Passthrough mode's memory of who may read what from the cache. Upstream decides
 * access (a HEAD with the client's own token); the answer is remembered per token and
 * repository for the token's lifetime, so a warm pull costs no upstream call. Tokens
 * are kept only as hashes. Repositories read with an anonymous token are public:
 * their cached content may be served to anyone even while the upstream is down.
 */
import { createHash } from 'node:crypto';

export interface AccessMemoOptions {
  maxEntries?: number;
  /** When a token's lifetime cannot be read from it. */
  defaultTtlMs?: number;
  maxTtlMs?: number;
  /** How long a repository stays known-public. */
  publicTtlMs?: number;
  now?: () => number;
}

class BoundedExpiringSet {
  private readonly entries = new Map<string, number>();
  constructor(
    private readonly max: number,
    private readonly now: () => number,
  ) {}

  has(key: string): boolean {
    const expires = this.entries.get(key);
    if (expires === undefined) return false;
    if (expires <= this.now()) {
      this.entries.delete(key);
      return false;
    }
    return true;
  }

  add(key: string, expires: number): void {
    this.entries.delete(key);
    this.entries.set(key, expires);
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  get size(): number {
    return this.entries.size;
  }
}

const hash = (value: string): string => createHash('sha256').update(value).digest('base64url');

/** The bearer token of an Authorization header, if any. */
function bearer(authorization: string | undefined): string | undefined {
  return authorization && /^bearer /i.test(authorization) ? authorization.slice(7).trim() : undefined;
}

/** Reads `exp` from a JWT payload without trusting it for anything but a memo's lifetime. */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export class AccessMemo {
  private readonly grants: BoundedExpiringSet;
  private readonly anonymous: BoundedExpiringSet;
  private readonly publicRepos: BoundedExpiringSet;
  private readonly now: () => number;
  private readonly options: Required<Omit<AccessMemoOptions, 'now'>>;

  constructor(options: AccessMemoOptions = {}) {
    this.now = options.now ?? Date.now;
    this.options = {
      maxEntries: options.maxEntries ?? 10_000,
      defaultTtlMs: options.defaultTtlMs ?? 5 * 60_000,
      maxTtlMs: options.maxTtlMs ?? 60 * 60_000,
      publicTtlMs: options.publicTtlMs ?? 24 * 60 * 60_000,
    };
    this.grants = new BoundedExpiringSet(this.options.maxEntries, this.now);
    this.anonymous = new BoundedExpiringSet(this.options.maxEntries, this.now);
    this.publicRepos = new BoundedExpiringSet(this.options.maxEntries, this.now);
  }

  get entries(): number {
    return this.grants.size;
  }

  private expiry(token: string): number {
    const now = this.now();
    const exp = tokenExpiry(token) ?? now + this.options.defaultTtlMs;
    return Math.min(exp, now + this.options.maxTtlMs);
  }

  /** Called by the token relay for tokens it handed to clients without credentials. */
  noteAnonymousToken(token: string): void {
    this.anonymous.add(hash(token), this.expiry(token));
  }

  isAllowed(authorization: string | undefined, registry: string, repo: string): boolean {
    const token = bearer(authorization);
    return token !== undefined && this.grants.has(`${hash(token)}|${registry}|${repo}`);
  }

  isPublic(registry: string, repo: string): boolean {
    return this.publicRepos.has(`${registry}|${repo}`);
  }

  /** Records that upstream accepted `authorization` for `repo`. */
  allow(authorization: string | undefined, registry: string, repo: string): void {
    const token = bearer(authorization);
    if (token === undefined) return;
    const tokenHash = hash(token);
    this.grants.add(`${tokenHash}|${registry}|${repo}`, this.expiry(token));
    if (this.anonymous.has(tokenHash)) this.publicRepos.add(`${registry}|${repo}`, this.now() + this.options.publicTtlMs);
  }
}
