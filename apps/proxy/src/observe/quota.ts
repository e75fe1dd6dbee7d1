/**
 * Upstream pull quota left, as the upstreams report it (`ratelimit-remaining`). In proxy
 * mode each operator account's pool knows its own (AccountPool.snapshot); in passthrough
 * mode every client spends its own quota (anonymous ones: the mirror's address), so the
 * last value seen per registry is what there is to tell.
 */
import type { AccountPool } from '@docxy/proxy-core';

export interface QuotaEntry {
  registry: string;
  /** An operator account, "anonymous", or "last-seen" (passthrough). */
  account: string;
  remaining: number;
  resting?: boolean;
}

export class QuotaBoard {
  private readonly lastSeen = new Map<string, number>();
  private pools: Array<{ registry: string; pool: AccountPool }> = [];

  /** Proxy mode: the registries whose accounts report their own quota. */
  usePools(pools: Array<{ registry: string; pool: AccountPool }>): void {
    this.pools = pools;
  }

  /** An upstream exchange's `ratelimit-remaining`; only the registries without account pools keep it. */
  observe(registry: string, remaining: number | undefined): void {
    if (remaining !== undefined) this.lastSeen.set(registry, remaining);
  }

  entries(): QuotaEntry[] {
    const out: QuotaEntry[] = [];
    const pooled = new Set(this.pools.map((p) => p.registry));
    for (const { registry, pool } of this.pools) {
      for (const account of pool.snapshot()) {
        if (account.remaining !== undefined)
          out.push({ registry, account: account.account, remaining: account.remaining, resting: account.resting });
      }
    }
    for (const [registry, remaining] of this.lastSeen) {
      if (!pooled.has(registry)) out.push({ registry, account: 'last-seen', remaining });
    }
    return out;
  }
}
