/**
 * The MirrorEvents port: what the engine reports about its work, for the edge's metrics
 * and logs. The core owns no metrics registry and no logger; every hook is optional and
 * must be cheap (it runs on the request path).
 */

/**
 * How the cache answered: `hit` from the cache with no content fetched (a tag revalidated
 * by a free HEAD included); `miss` fetched upstream and cached; `coalesced` joined a
 * download already running; `stale` served from the cache while the upstream is in
 * trouble; `bypass` answered by the upstream without caching (HEADs passed on, sha512
 * blobs, no room to cache, a late joiner of a failed download).
 */
export type CacheOutcome = 'hit' | 'miss' | 'coalesced' | 'stale' | 'bypass';

/** What was asked for. */
export type ContentKind = 'tag' | 'digest' | 'blob';

export interface MirrorEvents {
  cacheOutcome?(event: { registry: string; kind: ContentKind; outcome: CacheOutcome }): void;
  /** Content bytes received from an upstream (a finished download, an uncached transfer, a manifest). */
  upstreamBytes?(event: { registry: string; bytes: number }): void;
  /**
   * One upstream HTTP exchange, timed to its response headers. `remaining` is the quota the
   * upstream reported (`ratelimit-remaining`); per-account quota is in AccountPool.snapshot().
   */
  upstreamExchange?(event: {
    registry: string;
    method: string;
    status?: number;
    outcome: 'ok' | 'client-error' | 'server-error' | 'error';
    seconds: number;
    remaining?: number;
  }): void;
}
