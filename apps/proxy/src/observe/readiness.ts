/**
 * Readiness (`/readyz`): ready when the configuration is loaded (it is, once this
 * exists) and the store takes writes. Upstream reachability is reported but not fatal:
 * a mirror whose upstream is down still serves its cache, so taking it out of a load
 * balancer would only make things worse.
 *
 * Upstreams are probed with a `GET /v2/` (free, counts no quota) at most every
 * `upstreamMaxAgeMs`, in the background after the first time, so a probe answers at once
 * and a busy prober cannot make the mirror hammer its upstreams. The store probe is shared
 * the same way: concurrent calls wait for one probe, and its answer is reused for
 * `storeMaxAgeMs` (see STORE_PROBE_MAX_AGE_MS).
 */
import { randomBytes, createHash } from 'node:crypto';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { discard, type BlobStore, type Fetcher } from '@docxy/proxy-core';

/**
 * How long one store probe's answer is reused. `/readyz` must stay reachable by load
 * balancers, so it is exempt from IP lists and rate limits, and in S3 mode a probe is a
 * PutObject and a DeleteObject: without this, anyone who can reach the mirror could make it
 * write to its bucket at request rate. 5 s is no longer than the shortest health check
 * interval of the balancers in front of it (ALB: 5 s minimum; Kubernetes: 10 s by default),
 * so a store that stops taking writes still shows within one check.
 */
export const STORE_PROBE_MAX_AGE_MS = 5_000;

export interface UpstreamState {
  reachable: boolean;
  /** The status of `GET /v2/` (401 is the usual, healthy answer). */
  status?: number;
  error?: string;
  checkedAt: string;
}

export interface ReadinessReport {
  ready: boolean;
  config: 'loaded';
  store: { writable: boolean; kind?: string; error?: string };
  upstreams: Record<string, UpstreamState | { reachable: null }>;
}

export interface ReadinessOptions {
  /** Spools and fs writes go to `<dataDir>/tmp`, in both store modes. */
  spoolDir: string;
  fetcher: Fetcher;
  registries: Array<{ name: string; url: string }>;
  timeoutMs?: number;
  upstreamMaxAgeMs?: number;
  /** Default STORE_PROBE_MAX_AGE_MS. */
  storeMaxAgeMs?: number;
  /** The clock (ms since the epoch); tests move it. */
  now?: () => number;
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export class Readiness {
  private store: BlobStore | undefined;
  private readonly upstreams = new Map<string, UpstreamState>();
  private refreshing: Promise<void> | undefined;
  private refreshedAt = 0;
  /** The last store probe (pending or settled) and when it started; one at a time. */
  private storeProbe: { startedAt: number; result: Promise<ReportStore> } | undefined;
  private readonly timeoutMs: number;
  private readonly maxAgeMs: number;
  private readonly storeMaxAgeMs: number;
  private readonly now: () => number;

  constructor(private readonly options: ReadinessOptions) {
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.maxAgeMs = options.upstreamMaxAgeMs ?? 30_000;
    this.storeMaxAgeMs = options.storeMaxAgeMs ?? STORE_PROBE_MAX_AGE_MS;
    this.now = options.now ?? Date.now;
  }

  attach(store: BlobStore): void {
    this.store = store;
    this.storeProbe = undefined;
  }

  async check(): Promise<ReadinessReport> {
    const store = await this.storeState();
    if (this.refreshedAt === 0) await this.refreshUpstreams();
    else if (this.now() - this.refreshedAt > this.maxAgeMs) void this.refreshUpstreams();
    const upstreams: ReadinessReport['upstreams'] = {};
    for (const { name } of this.options.registries) upstreams[name] = this.upstreams.get(name) ?? { reachable: null };
    return { ready: store.writable, config: 'loaded', store, upstreams };
  }

  /**
   * The answer of the probe started less than `storeMaxAgeMs` ago (pending or settled), else
   * of a new one. A failed probe is reused too: it costs the same write attempt.
   */
  private storeState(): Promise<ReportStore> {
    const store = this.store;
    if (!store) return Promise.resolve({ writable: false, error: 'cache not started yet' });
    const now = this.now();
    if (!this.storeProbe || now - this.storeProbe.startedAt >= this.storeMaxAgeMs) {
      this.storeProbe = { startedAt: now, result: this.probeStore(store) };
    }
    return this.storeProbe.result;
  }

  /** A write and a delete where the mirror writes: the spool directory, and a remote store (S3). */
  private async probeStore(store: BlobStore): Promise<ReportStore> {
    try {
      await withTimeout(this.probe(store), this.timeoutMs, 'store probe');
      return { writable: true, kind: store.kind };
    } catch (err) {
      return { writable: false, kind: store.kind, error: (err as Error).message };
    }
  }

  private async probe(store: BlobStore): Promise<void> {
    const nonce = randomBytes(16).toString('hex');
    const file = join(this.options.spoolDir, `readyz-${nonce}`);
    await writeFile(file, nonce);
    await unlink(file);
    if (store.kind === 'fs') return; // the fs store writes through the same directory
    // A unique probe blob (replicas sharing a bucket never touch each other's), committed and removed.
    const data = Buffer.from(`docxy readiness probe ${nonce}`);
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const writer = await store.write(digest, data.length);
    try {
      writer.stream.end(data);
      await writer.commit();
    } catch (err) {
      await writer.abort();
      throw err;
    }
    await store.delete(digest);
  }

  private refreshUpstreams(): Promise<void> {
    this.refreshing ??= Promise.all(this.options.registries.map((r) => this.probeUpstream(r.name, r.url))).then(() => {
      this.refreshedAt = this.now();
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async probeUpstream(name: string, url: string): Promise<void> {
    const checkedAt = new Date(this.now()).toISOString();
    try {
      const response = await this.options.fetcher({
        url: new URL('/v2/', url),
        method: 'GET',
        headers: {},
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      discard(response);
      this.upstreams.set(name, { reachable: response.status < 500, status: response.status, checkedAt });
    } catch (err) {
      this.upstreams.set(name, { reachable: false, error: (err as Error).message, checkedAt });
    }
  }
}

type ReportStore = ReadinessReport['store'];
