/**
 * One fill per cold blob, however many clients ask at once. The first asker opens the
 * upstream GET; everyone who arrives before the fill ends attaches to it. When there
 * is no room to spool (or too many fills run), the first asker gets the upstream
 * response straight through and later askers fetch their own: serving beats caching.
 *
 * The caps hold under concurrency: a fill's slot is taken before its first await, and
 * its disk reservation is checked and taken in one synchronous step (see SpaceGuard).
 * A blob whose upstream sent no Content-Length starts with `unknownSizeEstimate` and
 * grows its reservation as it goes (see grow); when the disk has no more, the fill fails.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RegistryError } from '../errors.js';
import { BlobFill } from './blob-fill.js';
import type { BlobStore } from './blob-store.js';
import type { Reservation, SpaceGuard } from './space-guard.js';
import type { RegistryResponse } from '../registry-source.js';

/** Spool files are named `fill-<uuid>` in the spool directory. */
const SPOOL_PREFIX = 'fill-';
/** Blobs remembered as having outgrown the disk (oldest forgotten first). */
const OUTGROWN_LIMIT = 1000;

export interface FillCoordinatorOptions {
  spoolDir: string;
  store: BlobStore;
  space: SpaceGuard;
  /** Frees at least `bytes` in the store when spooling would not fit; returns bytes freed. */
  makeRoom?: (bytes: number) => Promise<number>;
  maxFills?: number;
  /**
   * Disk reserved for a blob whose upstream sent no Content-Length, and the step its
   * reservation grows by when the blob turns out larger. Default 1 GiB.
   */
  unknownSizeEstimate?: number;
  log?: (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string) => void;
}

export type Acquired =
  | { kind: 'fill'; fill: BlobFill }
  /** Not cached: this caller owns the upstream response. */
  | { kind: 'direct'; response: RegistryResponse }
  /** Not cached, and the response went to another caller: fetch your own. */
  | { kind: 'none' };

type Release = () => void;

export class FillCoordinator {
  private readonly fills = new Map<string, BlobFill>();
  private readonly starting = new Map<string, Promise<BlobFill | undefined>>();
  private readonly maxFills: number;
  private readonly unknownSizeEstimate: number;
  /**
   * Blobs of unknown size whose fill ran out of disk: digest → bytes to reserve before
   * trying to cache it again. Without this, every retry would start a fill that fails at
   * the same point; with it, the retry is served straight through until there is room.
   */
  private readonly outgrown = new Map<string, number>();
  /** Fills starting or running: counted from before their upstream GET. */
  private slots = 0;

  constructor(private readonly options: FillCoordinatorOptions) {
    this.maxFills = options.maxFills ?? 64;
    this.unknownSizeEstimate = options.unknownSizeEstimate ?? 1024 ** 3;
  }

  get active(): number {
    return this.fills.size;
  }

  /** Clients attached to running fills. */
  get readers(): number {
    let total = 0;
    for (const fill of this.fills.values()) total += fill.attached;
    return total;
  }

  /** Removes spools left by a crashed run; call at start-up, before any fill (fs and S3 stores alike). */
  async cleanup(): Promise<void> {
    await mkdir(this.options.spoolDir, { recursive: true });
    for (const name of await readdir(this.options.spoolDir)) {
      if (name.startsWith(SPOOL_PREFIX)) await rm(join(this.options.spoolDir, name), { force: true, recursive: true });
    }
  }

  /**
   * Resolves once every fill running now has ended, waiting at most `timeoutMs`; fills
   * still running then are aborted (shutting down: nothing half-written is kept).
   */
  async settle(timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    const running = [...this.fills.values()];
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      if (Number.isFinite(timeoutMs)) timer = setTimeout(() => resolve('expired'), Math.max(0, timeoutMs));
    });
    const outcome = await Promise.race([Promise.all(running.map((fill) => fill.finished)), expired]);
    clearTimeout(timer);
    if (outcome !== 'expired') return;
    for (const fill of running) fill.abort('the mirror is shutting down');
    // A fill already verified and being stored (an S3 upload) cannot be aborted: give the
    // aborted ones a moment to clean up, but never wait on an upload past the deadline.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(running.map((fill) => fill.finished)),
      new Promise<void>((resolve) => {
        grace = setTimeout(resolve, 1000);
      }),
    ]);
    clearTimeout(grace);
  }

  get(digest: string): BlobFill | undefined {
    return this.fills.get(digest);
  }

  /**
   * Attaches to the running fill for `digest`, or starts one with `open()` (the upstream GET).
   * Only the caller whose `open()` ran sees its rejection: that failure may be its own (its
   * token, its repository), so callers who were waiting on it get `none` and fetch for themselves.
   */
  async acquire(digest: string, open: () => Promise<RegistryResponse>): Promise<Acquired> {
    const running = this.fills.get(digest);
    if (running) return { kind: 'fill', fill: running };
    const pending = this.starting.get(digest);
    if (pending) {
      const fill = await pending.catch(() => undefined);
      return fill ? { kind: 'fill', fill } : { kind: 'none' };
    }
    const slot = this.takeSlot(digest);
    let direct: RegistryResponse | undefined;
    const start = (async (): Promise<BlobFill | undefined> => {
      let fill: BlobFill | undefined;
      try {
        const response = await open();
        fill = slot ? await this.startFill(digest, response, slot) : undefined;
        if (!fill) direct = response;
        return fill;
      } finally {
        if (!fill) slot?.();
      }
    })();
    this.starting.set(digest, start);
    try {
      const fill = await start;
      return fill ? { kind: 'fill', fill } : { kind: 'direct', response: direct! };
    } finally {
      this.starting.delete(digest);
    }
  }

  /** A fill slot, taken synchronously; undefined when maxFills are starting or running. */
  private takeSlot(digest: string): Release | undefined {
    if (this.slots >= this.maxFills) {
      this.options.log?.('warn', { digest, active: this.slots }, 'too many concurrent fills: serving uncached');
      return undefined;
    }
    this.slots++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.slots--;
    };
  }

  /** Room on disk for `bytes`, freeing some in the store when something else filled the disk. */
  private async reserve(bytes: number): Promise<Reservation | undefined> {
    const { space, makeRoom } = this.options;
    const reservation = space.tryReserve(bytes);
    if (reservation || !makeRoom) return reservation;
    await makeRoom(bytes - space.available());
    return space.tryReserve(bytes);
  }

  /**
   * More room for a spool of unknown size that would pass its reservation with `needed`
   * bytes: another `unknownSizeEstimate`, evicting blobs first if the disk is short (as for
   * a new fill), else whatever is left if it takes at least those bytes. Called once per
   * estimate written, so a statfs per step, never per chunk. Resolves to the new limit;
   * rejects when the disk has no more (the fill fails: nothing half-written is kept).
   */
  private async grow(digest: string, reservation: Reservation, needed: number, written: number): Promise<number> {
    const { space, makeRoom } = this.options;
    reservation.use(written);
    const least = needed - reservation.bytes;
    const step = Math.max(this.unknownSizeEstimate, least);
    if (reservation.grow(step) > 0) return reservation.bytes;
    if (makeRoom) await makeRoom(step - space.available());
    if (reservation.grow(step, least) > 0) return reservation.bytes;
    this.outgrown.delete(digest);
    this.outgrown.set(digest, needed + this.unknownSizeEstimate);
    if (this.outgrown.size > OUTGROWN_LIMIT) this.outgrown.delete(this.outgrown.keys().next().value!);
    throw new RegistryError('UNAVAILABLE', `no disk space to cache this blob past ${reservation.bytes} bytes; retry to get it uncached`, {
      status: 503,
    });
  }

  private async startFill(digest: string, response: RegistryResponse, slot: Release): Promise<BlobFill | undefined> {
    if (response.status !== 200 || !response.body) return undefined;
    const length = response.headers['content-length'];
    const size = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    const reserve = size ?? Math.max(this.unknownSizeEstimate, this.outgrown.get(digest) ?? 0);
    const reservation = await this.reserve(reserve);
    if (!reservation) {
      this.options.log?.('warn', { digest, size, reserve }, 'no disk space to cache this blob: serving it uncached');
      return undefined;
    }
    const spoolPath = join(this.options.spoolDir, `${SPOOL_PREFIX}${randomUUID()}`);
    let fill: BlobFill;
    try {
      fill = await BlobFill.start({
        digest,
        spoolPath,
        size,
        body: response.body,
        reserved: reservation.bytes,
        grow: size === undefined ? (needed, written) => this.grow(digest, reservation, needed, written) : undefined,
        commit: (path, bytes) => this.options.store.importFile(digest, path, bytes),
      });
    } catch (err) {
      reservation.release();
      this.options.log?.('error', { digest, err: (err as Error).message }, 'cannot spool blob: serving it uncached');
      return undefined;
    }
    this.fills.set(digest, fill);
    fill.on('commit-error', (err: Error) => this.options.log?.('error', { digest, err: err.message }, 'verified blob could not be stored'));
    void fill.finished.then(() => {
      reservation.release();
      slot();
      this.fills.delete(digest);
      if (fill.state === 'verified') this.outgrown.delete(digest);
      if (fill.state === 'failed')
        this.options.log?.('warn', { digest, err: fill.error?.message, written: fill.written }, 'blob fill failed: nothing cached');
    });
    return fill;
  }
}
