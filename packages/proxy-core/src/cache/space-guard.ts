/**
 * Keeps spooling from filling the disk: a fill reserves its blob's size before it
 * starts, and is refused (the blob is then served straight through, uncached) when the
 * filesystem lacks that much free space beyond a safety margin. A fill of unknown size
 * starts with an estimate and grows its reservation before writing past it.
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

/** Room held on disk for one spool; see SpaceGuard.tryReserve. */
export interface Reservation {
  /** Bytes the holder may write in all. */
  readonly bytes: number;
  /**
   * Records that `written` bytes of the spool are on disk: free space already shows
   * them, so they stop counting as reserved (else they would count twice, and a growing
   * spool would be refused at half the disk).
   */
  use(written: number): void;
  /**
   * Adds `want` bytes, or as much as is free if that is less but at least `atLeast`, in
   * one synchronous step; returns the bytes added (0: no room, nothing changed).
   */
  grow(want: number, atLeast?: number): number;
  /** Gives back what is still reserved; idempotent. */
  release(): void;
}

export class SpaceGuard {
  /** Reserved bytes not yet written: what may still land on the disk. */
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

  /** Reserves `bytes`; undefined when there is no room. */
  tryReserve(bytes: number): Reservation | undefined {
    if (this.available() < bytes) return undefined;
    this.reserved += bytes;
    let held = bytes;
    let used = 0;
    let released = false;
    // Arrow functions close over the guard: the reservation adjusts its running total.
    const reservation: Reservation = {
      get bytes() {
        return held;
      },
      use: (written) => {
        if (released) return;
        const now = Math.min(held, Math.max(used, written));
        this.reserved -= now - used;
        used = now;
      },
      grow: (want, atLeast = want) => {
        if (released) return 0;
        const added = Math.min(want, this.available());
        if (added < atLeast || added <= 0) return 0;
        this.reserved += added;
        held += added;
        return added;
      },
      release: () => {
        if (released) return;
        released = true;
        this.reserved -= held - used;
      },
    };
    return reservation;
  }
}

/** The filesystem size of `dir`, for defaults such as "half the disk". */
export async function filesystemSize(dir: string): Promise<number> {
  const fs = await statfs(dir);
  return fs.blocks * fs.bsize;
}
