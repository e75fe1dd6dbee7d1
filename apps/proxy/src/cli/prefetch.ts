/**
 * `docxy prefetch <image>...`: warms a running mirror's cache by pulling through it what
 * a client would pull: the manifest (and, for a multi-platform image, the chosen
 * platforms' manifests), each config and layer blob. Every blob is read whole and its
 * digest checked, so a prefetched image is one the mirror really served.
 */
import { createHash } from 'node:crypto';
import { MEDIA } from '@docxy/proxy-core';
import { type Command, UsageError } from './command.js';
import { formatBytes } from './format.js';
import { type ImageReference, parseImageReference } from './image-reference.js';
import { MirrorClient } from './mirror-client.js';
import { Progress } from './progress.js';

const ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest].join(', ');
const PARALLEL_BLOBS = 4;

interface Descriptor {
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

interface Manifest {
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

/** `linux/arm64/v8` matches a descriptor whose platform has those fields. */
function platformMatches(wanted: string[], descriptor: Descriptor): boolean {
  const p = descriptor.platform ?? {};
  const name = [p.os, p.architecture, p.variant].filter(Boolean).join('/');
  if (wanted.length === 0) return name !== 'unknown/unknown'; // build attestations, which docker pull skips too
  return wanted.some((w) => name === w || (w.split('/').length === 2 && name.startsWith(`${w}/`)));
}

class ImagePull {
  manifests = 0;
  blobs = new Map<string, number | undefined>();

  constructor(
    private readonly client: MirrorClient,
    private readonly image: ImageReference,
    private readonly platforms: string[],
  ) {}

  private path(kind: 'manifests' | 'blobs', reference: string): string {
    return `/v2/${this.image.name}/${kind}/${reference}`;
  }

  /** Reads the manifests, collecting the blobs they name. */
  async resolve(reference = this.image.reference): Promise<void> {
    const response = await this.client.get(this.path('manifests', reference), ACCEPT);
    if (response.status !== 200) throw new Error(`manifest ${reference}: ${response.status} ${await errorText(response)}`);
    const manifest = (await response.json()) as Manifest;
    this.manifests++;
    if (manifest.manifests) {
      const chosen = manifest.manifests.filter((d) => platformMatches(this.platforms, d));
      if (chosen.length === 0) throw new Error(`no manifest for platform ${this.platforms.join(', ') || '(any)'}`);
      for (const child of chosen) await this.resolve(child.digest);
      return;
    }
    for (const blob of [manifest.config, ...(manifest.layers ?? [])]) if (blob) this.blobs.set(blob.digest, blob.size);
  }

  /** Downloads one blob whole, checking its digest; returns its length. */
  async fetchBlob(digest: string, onBytes: (n: number) => void): Promise<number> {
    const response = await this.client.get(this.path('blobs', digest));
    if (response.status !== 200 || !response.body) throw new Error(`blob ${digest}: ${response.status} ${await errorText(response)}`);
    const [algorithm, expected] = digest.split(':') as [string, string];
    const hash = createHash(algorithm === 'sha512' ? 'sha512' : 'sha256');
    let bytes = 0;
    for await (const chunk of response.body) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes(chunk.length);
    }
    if (hash.digest('hex') !== expected) throw new Error(`blob ${digest}: content does not match its digest`);
    return bytes;
  }
}

async function errorText(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    const first = parsed.errors?.[0];
    if (first) return `${first.code}: ${first.message}`;
  } catch {
    // not a registry error body
  }
  return text.slice(0, 200);
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

export const prefetch: Command = {
  name: 'prefetch',
  summary: 'Warms a running mirror by pulling images through it (manifests and every blob).',
  usage: '[--mirror URL] [--platform OS/ARCH[,...]] [--user USER:PASSWORD] <image>...',
  help: [
    '  -m, --mirror URL    the mirror to pull through (default http://127.0.0.1:5000)',
    '  -p, --platform LIST platforms of multi-platform images, e.g. linux/amd64,linux/arm64 (default: all)',
    "  -u, --user U:P      credentials for the mirror's token service (private images, proxy mode)",
    '  <image>             redis, redis:7, ghcr.io/owner/app:1.2, name@sha256:…',
  ],
  options: {
    mirror: { type: 'string', short: 'm', default: 'http://127.0.0.1:5000' },
    platform: { type: 'string', short: 'p' },
    user: { type: 'string', short: 'u' },
  },
  positionals: true,
  async run(values, positionals) {
    if (positionals.length === 0) throw new UsageError('name at least one image');
    let base: URL;
    try {
      base = new URL(values.mirror as string);
    } catch {
      throw new UsageError(`option '--mirror': "${values.mirror}" is not a URL`);
    }
    const images = positionals.map((text) => {
      try {
        return { text, image: parseImageReference(text) };
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    });
    const platforms = ((values.platform as string | undefined) ?? '').split(',').filter(Boolean);
    const client = new MirrorClient({ base, credentials: values.user as string | undefined });
    const progress = new Progress(process.stderr);
    const started = Date.now();
    const totals = { images: 0, manifests: 0, blobs: 0, bytes: 0 };
    const failures: string[] = [];
    for (const { text, image } of images) {
      const pull = new ImagePull(client, image, platforms);
      try {
        await pull.resolve();
        const digests = [...pull.blobs.keys()];
        progress.start(
          text,
          digests.length,
          [...pull.blobs.values()].reduce<number>((sum, size) => sum + (size ?? 0), 0),
        );
        await inParallel(digests, PARALLEL_BLOBS, async (digest) => {
          totals.bytes += await pull.fetchBlob(digest, (n) => progress.bytes(n));
          progress.blobDone();
        });
        progress.done(`${text}: ${pull.manifests} manifests, ${digests.length} blobs`);
        totals.images++;
        totals.manifests += pull.manifests;
        totals.blobs += digests.length;
      } catch (err) {
        progress.done(`${text}: FAILED: ${(err as Error).message}`);
        failures.push(text);
      }
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `prefetched ${totals.images} of ${images.length} images: ${totals.manifests} manifests, ${totals.blobs} blobs, ${formatBytes(totals.bytes)} in ${seconds} s` +
        (failures.length ? `; failed: ${failures.join(', ')}` : '') +
        '\n',
    );
    return failures.length ? 1 : 0;
  },
};
