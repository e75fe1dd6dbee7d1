/**
 * The warm path: blobs every server already holds, served again. A peer's figure counts
 * only when it really is warm: distribution keeps fetching from its upstream until its
 * own copy is committed, so it is pulled again until a whole pass moves no upstream
 * bytes, and the measured pass must move none either (the row says if it did).
 */
import type { Blob } from '../test/testbed/images.js';
import { type Transfer, timedGet } from './transfer.js';

export interface WarmTarget {
  pid: number;
  tree?: boolean;
  url(b: Blob): string;
  headers?: Record<string, string>;
}

export interface WarmResults {
  docxy: Transfer[];
  distribution: Transfer[];
  nginx: Transfer[];
  /** Upstream bytes distribution fetched during its measured runs (0 when verified warm). */
  distributionUpstreamBytes: number;
  /** Passes it took distribution to stop fetching from upstream. */
  distributionWarmPasses: number;
}

const MAX_WARM_PASSES = 6;

export async function measureWarm(
  blobs: Blob[],
  targets: { docxy: WarmTarget; distribution: WarmTarget; nginx: WarmTarget },
  upstreamBytes: () => number,
  passes: number,
): Promise<WarmResults> {
  const get = (t: WarmTarget, b: Blob): Promise<Transfer> => timedGet({ pid: t.pid, tree: t.tree }, t.url(b), t.headers);
  let warmPasses = 0;
  for (let moved = true; moved && warmPasses < MAX_WARM_PASSES; warmPasses++) {
    const before = upstreamBytes();
    for (const b of blobs) await get(targets.distribution, b);
    moved = upstreamBytes() !== before;
  }
  const results: WarmResults = { docxy: [], distribution: [], nginx: [], distributionUpstreamBytes: 0, distributionWarmPasses: warmPasses };
  for (let pass = 0; pass < passes; pass++) {
    for (const b of blobs) {
      results.docxy.push(await get(targets.docxy, b));
      const before = upstreamBytes();
      results.distribution.push(await get(targets.distribution, b));
      results.distributionUpstreamBytes += upstreamBytes() - before;
      results.nginx.push(await get(targets.nginx, b));
    }
  }
  return results;
}
