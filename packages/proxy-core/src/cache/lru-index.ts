/**
 * Size accounting and least-recently-used order for a local blob cache. A Map keeps
 * insertion order, so "touch" is delete + set and the first entries are the oldest.
 * Pinned digests (open for reading or being written) are never chosen for eviction.
 */
export class LruIndex {
  private readonly entries = new Map<string, number>();
  private readonly pins = new Map<string, number>();
  total = 0;

  get size(): number {
    return this.entries.size;
  }

  has(digest: string): boolean {
    return this.entries.has(digest);
  }

  sizeOf(digest: string): number | undefined {
    return this.entries.get(digest);
  }

  add(digest: string, size: number): void {
    this.remove(digest);
    this.entries.set(digest, size);
    this.total += size;
  }

  touch(digest: string): void {
    const size = this.entries.get(digest);
    if (size === undefined) return;
    this.entries.delete(digest);
    this.entries.set(digest, size);
  }

  remove(digest: string): void {
    const size = this.entries.get(digest);
    if (size === undefined) return;
    this.entries.delete(digest);
    this.total -= size;
  }

  pin(digest: string): () => void {
    this.pins.set(digest, (this.pins.get(digest) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.pins.get(digest) ?? 1) - 1;
      if (left > 0) this.pins.set(digest, left);
      else this.pins.delete(digest);
    };
  }

  isPinned(digest: string): boolean {
    return this.pins.has(digest);
  }

  /** Oldest-first digests that may be evicted until `bytesToFree` are freed. */
  victims(bytesToFree: number): string[] {
    const out: string[] = [];
    let freed = 0;
    for (const [digest, size] of this.entries) {
      if (freed >= bytesToFree) break;
      if (this.pins.has(digest)) continue;
      out.push(digest);
      freed += size;
    }
    return out;
  }
}
