/**
 * One fill per cold blob, however many clients ask at once. The first asker opens the
 * upstream GET; everyone who arrives before the fill ends attaches to it. When there
 * is no room to spool (or too many fills run), the first asker gets the upstream
 * response straight through and later askers fetch their own: serving beats caching.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { BlobFill } from './blob-fill.js';
import type { BlobStore } from './blob-store.js';
import type { SpaceGuard } from './space-guard.js';
import type { RegistryResponse } from '../registry-source.js';

export interface FillCoordinatorOptions {
  spoolDir: string;
  store: BlobStore;
  space: SpaceGuard;
  /** Frees room in the store when spooling would not fit; returns bytes freed. */
  makeRoom?: (bytes: number) => Promise<number>;
  maxFills?: number;
  log?: (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string) => void;
}

export type Acquired =
  | { kind: 'fill'; fill: BlobFill }
  /** Not cached: this caller owns the upstream response. */
  | { kind: 'direct'; response: RegistryResponse }
  /** Not cached, and the response went to another caller: fetch your own. */
  | { kind: 'none' };

export class FillCoordinator {
  private readonly fills = new Map<string, BlobFill>();
  private readonly starting = new Map<string, Promise<BlobFill | undefined>>();
  private readonly maxFills: number;

  constructor(private readonly options: FillCoordinatorOptions) {
    this.maxFills = options.maxFills ?? 64;
  }

  get active(): number {
    return this.fills.size;
  }

  /** Resolves once every fill running now has ended (used when shutting down). */
  async settle(): Promise<void> {
    await Promise.all([...this.fills.values()].map((fill) => fill.finished));
  }

  get(digest: string): BlobFill | undefined {
    return this.fills.get(digest);
  }

  /** Attaches to the running fill for `digest`, or starts one with `open()` (the upstream GET). */
  async acquire(digest: string, open: () => Promise<RegistryResponse>): Promise<Acquired> {
    const running = this.fills.get(digest);
    if (running) return { kind: 'fill', fill: running };
    const pending = this.starting.get(digest);
    if (pending) {
      const fill = await pending;
      return fill ? { kind: 'fill', fill } : { kind: 'none' };
    }
    let direct: RegistryResponse | undefined;
    const start = (async (): Promise<BlobFill | undefined> => {
      const response = await open();
      const fill = await this.startFill(digest, response);
      if (!fill) direct = response;
      return fill;
    })();
    this.starting.set(digest, start);
    try {
      const fill = await start;
      return fill ? { kind: 'fill', fill } : { kind: 'direct', response: direct! };
    } finally {
      this.starting.delete(digest);
    }
  }

  private async startFill(digest: string, response: RegistryResponse): Promise<BlobFill | undefined> {
    const length = response.headers['content-length'];
    const size = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    if (response.status !== 200 || !response.body) return undefined;
    if (this.fills.size >= this.maxFills) {
      this.options.log?.('warn', { digest, active: this.fills.size }, 'too many concurrent fills: serving uncached');
      return undefined;
    }
    const need = size ?? 0;
    let release = await this.options.space.tryReserve(need);
    if (!release && this.options.makeRoom) {
      await this.options.makeRoom(need);
      release = await this.options.space.tryReserve(need);
    }
    if (!release) {
      this.options.log?.('warn', { digest, size }, 'no disk space to cache this blob: serving it uncached');
      return undefined;
    }
    const spoolPath = join(this.options.spoolDir, `fill-${randomUUID()}`);
    let fill: BlobFill;
    try {
      fill = await BlobFill.start({
        digest,
        spoolPath,
        size,
        body: response.body,
        commit: (path, bytes) => this.options.store.importFile(digest, path, bytes),
      });
    } catch (err) {
      release();
      this.options.log?.('error', { digest, err: (err as Error).message }, 'cannot spool blob: serving it uncached');
      return undefined;
    }
    this.fills.set(digest, fill);
    fill.on('commit-error', (err: Error) => this.options.log?.('error', { digest, err: err.message }, 'verified blob could not be stored'));
    void fill.finished.then(() => {
      release!();
      this.fills.delete(digest);
      if (fill.state === 'failed')
        this.options.log?.('warn', { digest, err: fill.error?.message, written: fill.written }, 'blob fill failed: nothing cached');
    });
    return fill;
  }
}
