/**
 * The filesystem BlobStore (the embedded default): blobs under `<dataDir>/blobs/sha256/ab/<hex>`,
 * writes in `<dataDir>/tmp` renamed into place only after verification, so a crash
 * never leaves a half-written blob where readers look. Size-bounded with LRU eviction.
 */
import { type FileHandle, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import { RegistryError } from '../errors.js';
import { Digester, isCacheableDigest } from './digester.js';
import { FileBody } from './file-body.js';
import { LruIndex } from './lru-index.js';
import type { BlobInfo, BlobStore, BlobWriter, ByteRange } from './blob-store.js';

export interface FsBlobStoreOptions {
  /** The data directory; blobs and temporary files live below it. */
  root: string;
  /** Bytes of committed blobs to keep; older ones are evicted past this. */
  maxSize: number;
  onEvict?: (digest: string, size: number) => void;
}

export class FsBlobStore implements BlobStore {
  readonly kind = 'fs';
  readonly blobsDir: string;
  readonly tmpDir: string;
  readonly index = new LruIndex();

  constructor(private readonly options: FsBlobStoreOptions) {
    this.blobsDir = join(options.root, 'blobs');
    this.tmpDir = join(options.root, 'tmp');
  }

  /** Creates directories, removes leftovers of interrupted writes, indexes what is there. */
  async cleanup(): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    await this.load();
    await this.evict();
  }

  /**
   * Indexes the blobs on disk, least recently used first (by access time where the mount
   * records it, else by write time). Touches nothing: safe beside a running mirror (gc).
   */
  async load(): Promise<void> {
    await mkdir(join(this.blobsDir, 'sha256'), { recursive: true });
    const found: Array<{ digest: string; size: number; used: number }> = [];
    for (const prefix of await readdir(join(this.blobsDir, 'sha256'))) {
      for (const hex of await readdir(join(this.blobsDir, 'sha256', prefix))) {
        const digest = `sha256:${hex}`;
        if (!isCacheableDigest(digest) || !hex.startsWith(prefix)) continue;
        const info = await stat(join(this.blobsDir, 'sha256', prefix, hex));
        found.push({ digest, size: info.size, used: Math.max(info.atimeMs, info.mtimeMs) });
      }
    }
    found.sort((a, b) => a.used - b.used);
    for (const entry of found) this.index.add(entry.digest, entry.size);
  }

  pathOf(digest: string): string {
    if (!isCacheableDigest(digest)) throw new RegistryError('DIGEST_INVALID', 'not a sha256 digest');
    const hex = digest.slice('sha256:'.length);
    return join(this.blobsDir, 'sha256', hex.slice(0, 2), hex);
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    const size = this.index.sizeOf(digest);
    return size === undefined ? undefined : { size };
  }

  async open(digest: string, range?: ByteRange): Promise<Readable | undefined> {
    const size = this.index.sizeOf(digest);
    if (size === undefined) return undefined;
    let handle: FileHandle;
    try {
      handle = await open(this.pathOf(digest), 'r');
    } catch (err) {
      // Removed behind our back: forget it.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.index.remove(digest);
      return undefined;
    }
    this.index.touch(digest);
    const unpin = this.index.pin(digest);
    return new FileBody(handle, range?.start ?? 0, range ? range.end + 1 : size, unpin);
  }

  async write(digest: string, size?: number): Promise<BlobWriter> {
    const tmp = join(this.tmpDir, `write-${randomUUID()}`);
    const handle = await open(tmp, 'w');
    const digester = new Digester(digest);
    const file = handle.createWriteStream();
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        digester.update(chunk);
        if (!file.write(chunk)) file.once('drain', () => done());
        else done();
      },
      final(done) {
        file.end(done);
      },
      destroy(err, done) {
        file.destroy();
        done(err);
      },
    });
    const discard = async (): Promise<void> => {
      stream.destroy();
      await unlink(tmp).catch(() => {});
    };
    return {
      stream,
      commit: async () => {
        if (!stream.writableFinished) await new Promise<void>((resolve, reject) => stream.end(() => resolve()).once('error', reject));
        const { ok } = digester.verify(size);
        if (!ok) {
          await discard();
          throw new RegistryError(
            size !== undefined && digester.bytes !== size ? 'SIZE_INVALID' : 'DIGEST_INVALID',
            'content does not match its digest',
          );
        }
        await this.importFile(digest, tmp, digester.bytes);
      },
      abort: discard,
    };
  }

  /** Renames the verified file into place; a file that cannot be adopted is removed, not left in tmp. */
  async importFile(digest: string, path: string, size: number): Promise<void> {
    const target = this.pathOf(digest);
    try {
      await mkdir(join(target, '..'), { recursive: true });
      await rename(path, target);
    } catch (err) {
      await unlink(path).catch(() => {});
      throw err;
    }
    this.index.add(digest, size);
    await this.evict();
  }

  async delete(digest: string): Promise<void> {
    this.index.remove(digest);
    await unlink(this.pathOf(digest)).catch(() => {});
  }

  /** Evicts least-recently-used blobs until the total is within maxSize. */
  async evict(): Promise<number> {
    const over = this.index.total - this.options.maxSize;
    return over > 0 ? this.evictAll(this.index.victims(over)) : 0;
  }

  /**
   * Frees at least `bytes` of disk by evicting least-recently-used blobs (never one being
   * read), whatever maxSize says: for when something else filled the disk. Evicts nothing
   * when that much cannot be freed, so one blob too big for the disk never empties the cache.
   */
  async freeBytes(bytes: number): Promise<number> {
    if (bytes <= 0) return 0;
    const victims = this.index.victims(bytes);
    const freeable = victims.reduce((sum, digest) => sum + (this.index.sizeOf(digest) ?? 0), 0);
    return freeable < bytes ? 0 : this.evictAll(victims);
  }

  private async evictAll(digests: string[]): Promise<number> {
    let freed = 0;
    for (const digest of digests) {
      const size = this.index.sizeOf(digest) ?? 0;
      await this.delete(digest);
      freed += size;
      this.options.onEvict?.(digest, size);
    }
    return freed;
  }
}
