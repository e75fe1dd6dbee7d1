/**
 * One upstream download of a blob, shared by every client that asks for it while it
 * runs. Bytes are spooled to a local file as they arrive; each client reads the spool
 * from its own offset (a late joiner reads what is already there, then follows), so
 * nobody waits for the whole blob and memory stays bounded whatever the blob's size.
 * The fill is independent of its readers: a client hanging up never cancels it.
 * The digest is verified at the end; on a mismatch or an upstream failure every
 * attached reader is destroyed (a failed transfer, never a clean short body) and
 * nothing is committed.
 */
import { EventEmitter } from 'node:events';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { RegistryError } from '../errors.js';
import { Digester } from './digester.js';
import type { ByteRange } from './blob-store.js';

const READ_CHUNK = 256 * 1024;
/** Upstream bytes that may wait in memory for the disk, per fill. */
const MAX_PENDING = 4 * 1024 * 1024;
/** Recently written bytes kept in memory for readers at the head of the download, per fill. */
const RECENT_BYTES = 8 * 1024 * 1024;

export type FillState = 'running' | 'verified' | 'failed';

export interface FillOptions {
  digest: string;
  spoolPath: string;
  /** From the upstream's Content-Length; undefined when it sent none. */
  size: number | undefined;
  body: Readable;
  /**
   * Bytes of disk reserved for the spool: no byte past them is accepted without `grow`.
   * Default: the announced size, else no limit (for a caller that reserves nothing).
   */
  reserved?: number;
  /**
   * For a blob of unknown size: more room once the spool would hold `needed` bytes
   * (`written` of them on disk). Resolves to the new reservation, or rejects (no room:
   * the fill fails with that error). Absent: bytes past `reserved` fail the fill.
   */
  grow?: (needed: number, written: number) => Promise<number>;
  /** Called once the spool is verified; moves it into the store. */
  commit: (spoolPath: string, size: number) => Promise<void>;
}

export class BlobFill extends EventEmitter {
  readonly digest: string;
  size: number | undefined;
  written = 0;
  state: FillState = 'running';
  error: Error | undefined;
  /** Resolves when the fill has ended, either way (never rejects). */
  readonly finished: Promise<void>;
  private readers = 0;
  private readHandle: FileHandle | undefined;
  /** Set after commit (or failure) completes; the spool handle may close only then. */
  private ended = false;
  /**
   * The most recently written chunks, kept in memory (at most RECENT_BYTES) so readers
   * following the download closely are fed without reading the spool back.
   */
  private readonly recent: Array<{ start: number; data: Buffer }> = [];
  private recentBytes = 0;

  private constructor(
    private readonly options: FillOptions,
    private readonly writeHandle: FileHandle,
    readHandle: FileHandle,
  ) {
    super();
    this.setMaxListeners(0);
    this.digest = options.digest;
    this.size = options.size;
    this.readHandle = readHandle;
    this.finished = new Promise((resolve) => this.once('end', resolve));
  }

  /** Opens the spool and starts copying the upstream body into it. */
  static async start(options: FillOptions): Promise<BlobFill> {
    const writeHandle = await open(options.spoolPath, 'w');
    let readHandle: FileHandle;
    try {
      readHandle = await open(options.spoolPath, 'r');
    } catch (err) {
      await writeHandle.close().catch(() => {});
      await unlink(options.spoolPath).catch(() => {});
      throw err;
    }
    const fill = new BlobFill(options, writeHandle, readHandle);
    void fill.run();
    return fill;
  }

  private async run(): Promise<void> {
    const digester = new Digester(this.digest);
    try {
      await this.copyToSpool(digester);
      await this.writeHandle.close();
      const { ok, actual } = digester.verify(this.size);
      if (!ok) {
        const sizeWrong = this.size !== undefined && this.size !== this.written;
        throw new RegistryError(
          sizeWrong ? 'SIZE_INVALID' : 'DIGEST_INVALID',
          sizeWrong ? `upstream sent ${this.written} bytes, announced ${this.size}` : `upstream content hashed to ${actual}`,
          { status: 502 },
        );
      }
      this.size = this.written;
      this.state = 'verified';
      this.emit('progress');
      await this.options.commit(this.options.spoolPath, this.written).catch((err: unknown) => this.emit('commit-error', err));
    } catch (err) {
      this.options.body.destroy();
      await this.writeHandle.close().catch(() => {});
      this.error = err instanceof Error ? err : new Error(String(err));
      this.state = 'failed';
      this.emit('progress');
    } finally {
      // Whatever happened, the spool must not outlive the fill: a successful commit moved
      // it away (ENOENT here), but a commit that threw may have left it where it was.
      // Readers still attached keep reading through their open handle.
      await unlink(this.options.spoolPath).catch(() => {});
      this.ended = true;
      this.emit('end');
      await this.releaseReadHandle();
    }
  }

  /**
   * Copies the upstream body into the spool. Chunks that arrive while a write is in
   * flight are batched into the next writev, so disk writes overlap network reads;
   * at most MAX_PENDING bytes wait in memory before reading pauses. No byte is accepted
   * past the disk reserved for it: a number comparison per chunk, a grow (statfs) per step.
   */
  private async copyToSpool(digester: Digester): Promise<void> {
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    let received = 0;
    let reserved = this.options.reserved ?? this.size ?? Number.POSITIVE_INFINITY;
    let inflight: Promise<void> | undefined;
    let writeError: unknown;
    const flush = (): void => {
      inflight ??= (async () => {
        try {
          while (pending.length > 0) {
            const batch = pending.splice(0);
            const bytes = pendingBytes;
            pendingBytes = 0;
            await this.writeHandle.writev(batch, this.written);
            this.remember(batch, this.written);
            this.written += bytes;
            this.emit('progress');
          }
        } catch (err) {
          writeError = err;
        } finally {
          inflight = undefined;
        }
      })();
    };
    for await (const chunk of this.options.body) {
      if (writeError) throw writeError;
      const buf = chunk as Buffer;
      received += buf.length;
      if (received > reserved) {
        if (this.size !== undefined || !this.options.grow)
          throw new RegistryError(
            'SIZE_INVALID',
            `upstream sent more than the ${reserved} bytes ${this.size === undefined ? 'reserved' : 'it announced'}`,
            { status: 502 },
          );
        // Writes in flight first: then `written` is exactly what the spool holds on disk.
        while (inflight) await inflight;
        if (writeError) throw writeError;
        reserved = await this.options.grow(received, this.written);
      }
      digester.update(buf);
      pending.push(buf);
      pendingBytes += buf.length;
      flush();
      if (pendingBytes >= MAX_PENDING) await inflight;
    }
    while (inflight) await inflight;
    if (writeError) throw writeError;
  }

  private remember(batch: Buffer[], start: number): void {
    let offset = start;
    for (const data of batch) {
      this.recent.push({ start: offset, data });
      offset += data.length;
      this.recentBytes += data.length;
    }
    while (this.recentBytes > RECENT_BYTES && this.recent.length > 1) this.recentBytes -= this.recent.shift()!.data.length;
  }

  /** Bytes [position, position + max) from memory if still there, else undefined. */
  private fromMemory(position: number, max: number): Buffer | undefined {
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const chunk = this.recent[i]!;
      if (position >= chunk.start + chunk.data.length) return undefined;
      if (position >= chunk.start) {
        const from = position - chunk.start;
        return chunk.data.subarray(from, Math.min(chunk.data.length, from + max));
      }
    }
    return undefined;
  }

  private async releaseReadHandle(): Promise<void> {
    if (this.readers === 0 && this.ended && this.readHandle) {
      const handle = this.readHandle;
      this.readHandle = undefined;
      await handle.close().catch(() => {});
    }
  }

  /**
   * False once the fill has failed, or has ended with no reader attached (its spool is
   * then gone: a caller arriving that late reads the committed blob from the store).
   */
  get readable(): boolean {
    return this.readHandle !== undefined && this.state !== 'failed';
  }

  /** Stops the download (shutting down): the fill fails, its readers see a failed transfer, nothing is cached. */
  abort(reason: string): void {
    if (this.state === 'running') this.options.body.destroy(new RegistryError('UNAVAILABLE', reason));
  }

  /** Clients reading this fill right now. */
  get attached(): number {
    return this.readers;
  }

  /** A stream of the blob (or a range of it) fed from the spool as bytes arrive. */
  reader(range?: ByteRange): Readable {
    if (!this.readHandle || this.state === 'failed') throw this.error ?? new RegistryError('UNAVAILABLE', 'fill ended');
    const handle = this.readHandle;
    this.readers++;
    let position = range?.start ?? 0;
    const end = range ? range.end + 1 : undefined; // exclusive
    let waiting = false;
    const fill = this;
    const stream = new Readable({
      highWaterMark: READ_CHUNK,
      read() {
        void pump();
      },
      destroy(err, done) {
        fill.off('progress', onProgress);
        fill.readers--;
        void fill.releaseReadHandle();
        done(err);
      },
    });
    const onProgress = (): void => {
      if (!waiting) return;
      waiting = false;
      void pump();
    };
    fill.on('progress', onProgress);
    // A reader may fail before its consumer attaches (pipeline, for-await); those still
    // see the error through `stream.errored`, so an early 'error' must not crash the process.
    stream.on('error', () => {});
    const pump = async (): Promise<void> => {
      if (stream.destroyed) return;
      if (fill.state === 'failed') {
        stream.destroy(fill.error);
        return;
      }
      const verified = fill.state === 'verified';
      const stop = end ?? fill.size ?? (verified ? fill.written : Infinity);
      if (verified && position >= stop) {
        stream.push(null);
        return;
      }
      // The last byte of every response waits for verification: a client that received
      // its whole Content-Length would otherwise see a clean end of corrupt content.
      const ceiling = Math.min(fill.written, verified ? stop : stop - 1);
      const available = ceiling - position;
      if (available <= 0) {
        waiting = true;
        return;
      }
      // Everything already in memory goes out in one go: pushed in the same tick, the
      // chunks reach the socket as one writev (HTTP corks a response until the next tick)
      // instead of one write syscall per 64 KiB.
      let pushed = false;
      for (let more = true; more && position < ceiling; ) {
        const cached = fill.fromMemory(position, ceiling - position);
        if (!cached) break;
        position += cached.length;
        pushed = true;
        more = stream.push(cached);
      }
      if (pushed) return;
      const length = Math.min(READ_CHUNK, available);
      const buf = Buffer.allocUnsafe(length);
      try {
        const { bytesRead } = await handle.read(buf, 0, length, position);
        position += bytesRead;
        if (!stream.destroyed) stream.push(buf.subarray(0, bytesRead));
      } catch (err) {
        stream.destroy(err as Error);
      }
    };
    return stream;
  }
}
