/**
 * Keeps spooling from filling the disk: a fill reserves its blob's size before it
 * starts, and is refused (the blob is then served straight through, uncached) when the
 * filesystem lacks that much free space beyond a safety margin.
 *
 * Checking and taking a reservation is one synchronous step (statfsSync, microseconds):
 * with an await between them, N fills starting together would all see the same free
 * space and together reserve N times what is there.
 */
import { statfsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';

export interface SpaceGuardOptions {
  dir: string;
  /** Free space never to spool into. Default: min(64 MiB, 1% of the filesystem). */
  marginBytes?: number;
}

export class SpaceGuard {
  private reserved = 0;

  constructor(private readonly options: SpaceGuardOptions) {}

  get reservedBytes(): number {
    return this.reserved;
  }

  /** Bytes that may still be reserved now (negative when the disk is already past the margin). */
  available(): number {
    const fs = statfsSync(this.options.dir);
    const margin = this.options.marginBytes ?? Math.min(64 * 1024 * 1024, Math.floor(fs.blocks * fs.bsize * 0.01));
    return fs.bavail * fs.bsize - margin - this.reserved;
  }

  /** Reserves `bytes`; returns the release function, or undefined when there is no room. */
  tryReserve(bytes: number): (() => void) | undefined {
    if (this.available() < bytes) return undefined;
    this.reserved += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.reserved -= bytes;
    };
  }
}

/** The filesystem size of `dir`, for defaults such as "half the disk". */
export async function filesystemSize(dir: string): Promise<number> {
  const fs = await statfs(dir);
  return fs.blocks * fs.bsize;
}
