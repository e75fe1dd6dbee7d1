/**
 * Manifests by digest (immutable: kept until evicted, never fetched again) and
 * tag → digest records with the time they were last confirmed upstream. A small
 * in-memory LRU, bounded in bytes, sits in front of the object store for manifests, and a
 * short-lived memo for tag records (see TAG_MEMO_MS).
 *
 * A tag record is kept per accept class (see manifest-types.ts): the upstream answers
 * a tag according to the client's Accept, so an answer is reused only for clients of the
 * same class, or, when it is the tag's own manifest (not one selected for a narrow
 * client), for any client that accepts its media type.
 */
import { acceptClass, accepts, isTagsOwnManifest } from './manifest-types.js';
import type { ObjectStore } from './object-store.js';

/** The record shared across classes: the tag's own manifest. */
const OWN = 'own';

export interface CachedManifest {
  digest: string;
  mediaType: string;
  body: Buffer;
}

export interface TagRecord {
  digest: string;
  mediaType: string;
  /** When upstream last confirmed this tag → digest (ms since epoch). */
  validatedAt: number;
}

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * How long a tag record read from the store (or its absence) is reused. A request reads up
 * to two records (its class's, then the tag's own), and a pull asks for the same tag
 * several times within a second (HEAD then GET, several platforms, parallel clients): each
 * read is an S3 GET in S3 mode. Replicas sharing the store write records this process never
 * hears of, so the memo stays short: another replica's record is seen at most this late
 * (a tag is already served for tagFreshness, 60 s by default, without asking upstream).
 * Records this process writes replace the memo's at once.
 */
export const TAG_MEMO_MS = 1_000;
/** Tag records memoised at most (the oldest is dropped first). */
export const TAG_MEMO_ENTRIES = 1_000;

export interface TagMemoOptions {
  ttlMs?: number;
  maxEntries?: number;
  /** The clock (ms); tests move it. */
  now?: () => number;
}

export class ManifestCache {
  private readonly memory = new Map<string, CachedManifest>();
  private memoryBytes = 0;
  /** Tag record reads by key: one read for concurrent callers, reused for `ttlMs`. */
  private readonly tagMemo = new Map<string, { at: number; record: Promise<TagRecord | undefined> }>();
  private readonly tagMemoTtlMs: number;
  private readonly tagMemoEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly store: ObjectStore,
    private readonly memoryBudget = 32 * 1024 * 1024,
    tagMemo: TagMemoOptions = {},
  ) {
    this.tagMemoTtlMs = tagMemo.ttlMs ?? TAG_MEMO_MS;
    this.tagMemoEntries = tagMemo.maxEntries ?? TAG_MEMO_ENTRIES;
    this.now = tagMemo.now ?? Date.now;
  }

  private static manifestKey(digest: string): string {
    const [algorithm, hex] = digest.split(':') as [string, string];
    return `manifests/${algorithm}/${hex.slice(0, 2)}/${hex}.json`;
  }

  private static tagKey(registry: string, repo: string, tag: string, recordClass: string): string {
    return `tags/${registry}/${repo}/_tags/${tag}/${recordClass}.json`;
  }

  async getManifest(digest: string): Promise<CachedManifest | undefined> {
    const hit = this.memory.get(digest);
    if (hit) {
      this.memory.delete(digest);
      this.memory.set(digest, hit);
      return hit;
    }
    const raw = await this.store.get(ManifestCache.manifestKey(digest));
    if (!raw) return undefined;
    const parsed = JSON.parse(raw.toString('utf8')) as { mediaType: string; body: string };
    const manifest = { digest, mediaType: parsed.mediaType, body: Buffer.from(parsed.body, 'base64') };
    this.remember(manifest);
    return manifest;
  }

  async putManifest(manifest: CachedManifest): Promise<void> {
    const record = { mediaType: manifest.mediaType, body: manifest.body.toString('base64') };
    await this.store.put(ManifestCache.manifestKey(manifest.digest), Buffer.from(JSON.stringify(record)));
    this.remember(manifest);
  }

  /** The record that answers a client with this Accept, if any: its own class's, else the tag's own manifest if it takes that type. */
  async getTag(registry: string, repo: string, tag: string, accept: string | undefined): Promise<TagRecord | undefined> {
    for (const recordClass of [acceptClass(accept), OWN]) {
      const record = await this.readTag(registry, repo, tag, recordClass);
      if (record && accepts(accept, record.mediaType)) return record;
    }
    return undefined;
  }

  /** Records what the upstream answered a client with this Accept. */
  async putTag(registry: string, repo: string, tag: string, accept: string | undefined, record: TagRecord): Promise<void> {
    const data = Buffer.from(JSON.stringify(record));
    const keys = [ManifestCache.tagKey(registry, repo, tag, acceptClass(accept))];
    if (isTagsOwnManifest(accept, record.mediaType)) keys.push(ManifestCache.tagKey(registry, repo, tag, OWN));
    for (const key of keys) {
      // Forgotten first: a read while the write is under way goes to the store.
      this.tagMemo.delete(key);
      await this.store.put(key, data);
      this.memoTag(key, Promise.resolve({ ...record }));
    }
  }

  /** A copy for each caller: the memo's own record is shared. */
  private async readTag(registry: string, repo: string, tag: string, recordClass: string): Promise<TagRecord | undefined> {
    const record = await this.memoisedTag(ManifestCache.tagKey(registry, repo, tag, recordClass));
    return record && { ...record };
  }

  private memoisedTag(key: string): Promise<TagRecord | undefined> {
    const memo = this.tagMemo.get(key);
    if (memo && this.now() - memo.at < this.tagMemoTtlMs) return memo.record;
    const record = this.store.get(key).then((raw) => (raw ? (JSON.parse(raw.toString('utf8')) as TagRecord) : undefined));
    this.memoTag(key, record);
    // A failed read is not remembered: the next caller tries the store again.
    record.catch(() => {
      if (this.tagMemo.get(key)?.record === record) this.tagMemo.delete(key);
    });
    return record;
  }

  private memoTag(key: string, record: Promise<TagRecord | undefined>): void {
    this.tagMemo.delete(key);
    this.tagMemo.set(key, { at: this.now(), record });
    for (const oldest of this.tagMemo.keys()) {
      if (this.tagMemo.size <= this.tagMemoEntries) break;
      this.tagMemo.delete(oldest);
    }
  }

  private remember(manifest: CachedManifest): void {
    if (manifest.body.length > this.memoryBudget) return;
    if (this.memory.has(manifest.digest)) return;
    this.memory.set(manifest.digest, manifest);
    this.memoryBytes += manifest.body.length;
    for (const [digest, old] of this.memory) {
      if (this.memoryBytes <= this.memoryBudget) break;
      this.memory.delete(digest);
      this.memoryBytes -= old.body.length;
    }
  }
}
