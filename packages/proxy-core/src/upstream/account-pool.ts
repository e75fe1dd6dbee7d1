/**
 * The operator's upstream accounts for one registry, and what the upstream said about
 * each one's quota. Picks the account with the most pulls left (read from
 * `ratelimit-remaining`); one that answered 429 rests until its window resets;
 * anonymous is the last account. When every account is resting, callers are told when
 * the first one comes back instead of hammering the upstream.
 */
import { RegistryError } from '../errors.js';

export interface Account {
  /** Undefined for the anonymous account. */
  username?: string;
  password?: string;
}

interface AccountState {
  account: Account;
  /** Pulls left in the current window, when the upstream said so. */
  remaining: number | undefined;
  /** Window length in ms, from `ratelimit-remaining: N;w=SECONDS`. */
  windowMs: number | undefined;
  restingUntil: number;
}

export function parseRateLimit(header: string | null): { remaining: number; windowMs: number | undefined } | undefined {
  const match = header ? /^\s*(\d+)(?:\s*;\s*w=(\d+))?/.exec(header) : null;
  if (!match) return undefined;
  return { remaining: Number(match[1]), windowMs: match[2] ? Number(match[2]) * 1000 : undefined };
}

export class AccountPool {
  private readonly states: AccountState[];

  constructor(
    accounts: Account[],
    private readonly now: () => number = Date.now,
    private readonly defaultRestMs = 60 * 60_000,
  ) {
    // Anonymous is always last, and always present.
    this.states = [...accounts.filter((a) => a.username), {}].map((account) => ({
      account,
      remaining: undefined,
      windowMs: undefined,
      restingUntil: 0,
    }));
  }

  get size(): number {
    return this.states.length;
  }

  /** Each account's quota as last reported upstream (anonymous last), for metrics and the status page. */
  snapshot(): Array<{ account: string; remaining: number | undefined; resting: boolean }> {
    const now = this.now();
    return this.states.map((s) => ({ account: s.account.username ?? 'anonymous', remaining: s.remaining, resting: s.restingUntil > now }));
  }

  /** The account to use now; throws TOOMANYREQUESTS (with Retry-After) when all rest. */
  pick(): Account {
    const now = this.now();
    const awake = this.states.filter((s) => s.restingUntil <= now);
    if (awake.length === 0) {
      const wake = Math.min(...this.states.map((s) => s.restingUntil));
      const seconds = Math.max(1, Math.ceil((wake - now) / 1000));
      throw new RegistryError('TOOMANYREQUESTS', 'every upstream account is out of pulls', { headers: { 'retry-after': String(seconds) } });
    }
    const named = awake.filter((s) => s.account.username);
    const pool = named.length > 0 ? named : awake;
    // Unknown quota counts as plenty, so every account gets tried and reports its own.
    const best = pool.reduce((a, b) => ((b.remaining ?? Infinity) > (a.remaining ?? Infinity) ? b : a));
    return best.account;
  }

  /** Records what an upstream response said about `account`'s quota. */
  observe(account: Account, status: number, headers: Headers): void {
    const state = this.states.find((s) => s.account === account);
    if (!state) return;
    const limit = parseRateLimit(headers.get('ratelimit-remaining'));
    if (limit) {
      state.remaining = limit.remaining;
      state.windowMs = limit.windowMs ?? state.windowMs;
    }
    const retryAfter = Number(headers.get('retry-after'));
    if (status === 429) {
      const rest = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : (state.windowMs ?? this.defaultRestMs);
      state.restingUntil = this.now() + rest;
      state.remaining = 0;
    } else if (state.remaining === 0) {
      state.restingUntil = this.now() + (state.windowMs ?? this.defaultRestMs);
    }
  }
}
