/**
 * Manifests by digest (immutable: kept until evicted, never fetched again) and
 * tag → digest records with the time they were last confirmed upstream. A small
 * in-memory LRU, bounded in bytes, sits in front of the object store.
 */
import type { ObjectStore } from './object-store.js';

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

  private static tagKey(registry: string, repo: string, tag: string): string {
    return `tags/${registry}/${repo}/_tags/${tag}.json`;
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

  async getTag(registry: string, repo: string, tag: string): Promise<TagRecord | undefined> {
    const raw = await this.store.get(ManifestCache.tagKey(registry, repo, tag));
    return raw ? (JSON.parse(raw.toString('utf8')) as TagRecord) : undefined;
  }

  async putTag(registry: string, repo: string, tag: string, record: TagRecord): Promise<void> {
    await this.store.put(ManifestCache.tagKey(registry, repo, tag), Buffer.from(JSON.stringify(record)));
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
