/**
 * Figures for the status page, kept in memory: totals since start, a per-minute series
 * for the last hour (a ring of 60 buckets) and the last pulls. Bounded whatever the
 * traffic: 60 buckets, RECENT_PULLS entries.
 */
import type { CacheOutcome } from '@docxy/proxy-core';

const MINUTE = 60_000;
const MINUTES = 60;
const RECENT_PULLS = 20;
/** A pull by tag is followed by GETs of its platform manifest by digest: those are the same pull. */
const SAME_PULL_MS = 60_000;

export interface MinuteBucket {
  /** Start of the minute, ms since the epoch. */
  t: number;
  /** Cache answers (manifests and blobs). */
  requests: number;
  /** Answered from the cache (hit or stale). */
  hits: number;
  /** Body bytes sent from the cache (hit or stale). */
  cacheBytes: number;
  /** Content bytes fetched from upstream registries. */
  upstreamBytes: number;
}

export interface RecentPull {
  at: number;
  registry: string;
  repository: string;
  /** The tag, or the digest for a pull by digest. */
  reference: string;
  outcome: CacheOutcome | 'none';
}

export interface TrafficSnapshot {
  startedAt: number;
  now: number;
  totals: {
    requests: number;
    hits: number;
    outcomes: Record<string, number>;
    cacheBytes: number;
    upstreamBytes: number;
    hitRatio: number | null;
  };
  series: MinuteBucket[];
  recentPulls: RecentPull[] | null;
}

export interface TrafficStatsOptions {
  /** Keep recent pulls at all (off: the snapshot's list is null). */
  recentPulls: boolean;
  /** Which pulls may be listed (absent: every pull); asked when the pull is recorded. */
  listable?: (registry: string, repository: string) => boolean;
  now?: () => number;
}

export class TrafficStats {
  private readonly buckets: MinuteBucket[] = [];
  private readonly outcomes: Record<string, number> = {};
  private cacheBytes = 0;
  private upstreamBytes = 0;
  private readonly pulls: RecentPull[] = [];
  readonly startedAt: number;

  constructor(private readonly options: TrafficStatsOptions = { recentPulls: true }) {
    this.startedAt = this.now();
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** The bucket of the current minute, creating it (and dropping buckets older than an hour). */
  private bucket(): MinuteBucket {
    const t = Math.floor(this.now() / MINUTE) * MINUTE;
    let last = this.buckets.at(-1);
    if (!last || last.t !== t) {
      last = { t, requests: 0, hits: 0, cacheBytes: 0, upstreamBytes: 0 };
      this.buckets.push(last);
      while (this.buckets.length > 0 && this.buckets[0]!.t <= t - MINUTES * MINUTE) this.buckets.shift();
    }
    return last;
  }

  cacheOutcome(outcome: CacheOutcome): void {
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
    const bucket = this.bucket();
    bucket.requests += 1;
    if (outcome === 'hit' || outcome === 'stale') bucket.hits += 1;
  }

  /** Body bytes sent to a client; counted as from the cache when the cache answered hit or stale. */
  served(outcome: CacheOutcome | undefined, bytes: number): void {
    if (outcome !== 'hit' && outcome !== 'stale') return;
    this.cacheBytes += bytes;
    this.bucket().cacheBytes += bytes;
  }

  fetchedUpstream(bytes: number): void {
    this.upstreamBytes += bytes;
    this.bucket().upstreamBytes += bytes;
  }

  /** A manifest GET that answered 2xx: a pull, unless it continues a pull of the same repository just seen. */
  pull(pull: Omit<RecentPull, 'at'>, byDigest: boolean): void {
    if (!this.options.recentPulls || this.options.listable?.(pull.registry, pull.repository) === false) return;
    const at = this.now();
    const last = this.pulls[0];
    if (byDigest && last && last.registry === pull.registry && last.repository === pull.repository && at - last.at < SAME_PULL_MS) return;
    this.pulls.unshift({ at, ...pull });
    this.pulls.length = Math.min(this.pulls.length, RECENT_PULLS);
  }

  snapshot(): TrafficSnapshot {
    const now = this.now();
    // A full hour of minutes, zeros where nothing happened, oldest first.
    const current = Math.floor(now / MINUTE) * MINUTE;
    const byMinute = new Map(this.buckets.map((b) => [b.t, b]));
    const series: MinuteBucket[] = [];
    for (let i = MINUTES - 1; i >= 0; i--) {
      const t = current - i * MINUTE;
      series.push({ ...(byMinute.get(t) ?? { t, requests: 0, hits: 0, cacheBytes: 0, upstreamBytes: 0 }) });
    }
    const requests = Object.values(this.outcomes).reduce((a, b) => a + b, 0);
    const hits = (this.outcomes.hit ?? 0) + (this.outcomes.stale ?? 0);
    return {
      startedAt: this.startedAt,
      now,
      totals: {
        requests,
        hits,
        outcomes: { ...this.outcomes },
        cacheBytes: this.cacheBytes,
        upstreamBytes: this.upstreamBytes,
        hitRatio: requests > 0 ? hits / requests : null,
      },
      series,
      recentPulls: this.options.recentPulls ? this.pulls.map((p) => ({ ...p })) : null,
    };
  }
}
