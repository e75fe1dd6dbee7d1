/**
 * Which content belongs to which repository: the link index of distribution's
 * linked-blob model (registry/storage/linkedblobstore.go), kept beside the
 * content-addressed stores. Blobs and manifests are stored once per digest, but a
 * digest is served under repository R only when it is linked to R: it entered the
 * cache through R (a manifest fetched for R links itself and everything it refers to),
 * or the upstream confirmed that digest under R. Links live in the ObjectStore, so
 * replicas sharing an S3 bucket share them; a link is never removed (belonging to a
 * repository is a fact about content, not about what is cached).
 */
import type { ObjectStore } from './object-store.js';

const MARK = Buffer.from('1');

export class RepositoryLinks {
  /** Links known to exist, most recently used last (a bounded memo in front of the store). */
  private readonly known = new Map<string, true>();

  constructor(
    private readonly store: ObjectStore,
    private readonly maxRemembered = 100_000,
  ) {}

  /** `links/<registry>/<repo>/_links/<algorithm>/<hex>`: names and digests are validated before they get here. */
  private static key(registry: string, repo: string, digest: string): string {
    const [algorithm, hex] = digest.split(':') as [string, string];
    return `links/${registry}/${repo}/_links/${algorithm}/${hex}`;
  }

  async has(registry: string, repo: string, digest: string): Promise<boolean> {
    const key = RepositoryLinks.key(registry, repo, digest);
    if (this.known.has(key)) {
      this.remember(key);
      return true;
    }
    const found = (await this.store.get(key)) !== undefined;
    if (found) this.remember(key);
    return found;
  }

  async add(registry: string, repo: string, digests: Iterable<string>): Promise<void> {
    const fresh = [...new Set(digests)].map((digest) => RepositoryLinks.key(registry, repo, digest)).filter((key) => !this.known.has(key));
    await Promise.all(fresh.map((key) => this.store.put(key, MARK)));
    for (const key of fresh) this.remember(key);
  }

  private remember(key: string): void {
    this.known.delete(key);
    this.known.set(key, true);
    if (this.known.size > this.maxRemembered) this.known.delete(this.known.keys().next().value as string);
  }
}
