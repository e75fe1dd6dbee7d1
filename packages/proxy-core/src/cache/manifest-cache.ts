/**
 * Manifests by digest (immutable: kept until evicted, never fetched again) and
 * tag → digest records with the time they were last confirmed upstream. A small
 * in-memory LRU, bounded in bytes, sits in front of the object store.
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

export class ManifestCache {
  private readonly memory = new Map<string, CachedManifest>();
  private memoryBytes = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly memoryBudget = 32 * 1024 * 1024,
  ) {}

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
    await this.store.put(ManifestCache.tagKey(registry, repo, tag, acceptClass(accept)), data);
    if (isTagsOwnManifest(accept, record.mediaType)) await this.store.put(ManifestCache.tagKey(registry, repo, tag, OWN), data);
  }

  private async readTag(registry: string, repo: string, tag: string, recordClass: string): Promise<TagRecord | undefined> {
    const raw = await this.store.get(ManifestCache.tagKey(registry, repo, tag, recordClass));
    return raw ? (JSON.parse(raw.toString('utf8')) as TagRecord) : undefined;
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
