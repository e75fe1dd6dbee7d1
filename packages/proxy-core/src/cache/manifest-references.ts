/**
 * The digests a manifest refers to: an image manifest's config and layers (and an
 * artifact's blobs), an index's child manifests, a referrer's subject. A manifest
 * fetched for repository R links all of them to R, as a push to R would.
 */
import { isDigest } from '../reference.js';

interface Descriptor {
  digest?: unknown;
}

interface ManifestShape {
  config?: Descriptor;
  layers?: Descriptor[];
  blobs?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
  fsLayers?: Array<{ blobSum?: unknown }>;
}

export function referencedDigests(body: Buffer): string[] {
  let parsed: ManifestShape;
  try {
    parsed = JSON.parse(body.toString('utf8')) as ManifestShape;
  } catch {
    return [];
  }
  if (typeof parsed !== 'object' || parsed === null) return [];
  const candidates: unknown[] = [
    parsed.config?.digest,
    parsed.subject?.digest,
    ...listOf(parsed.layers).map((d) => d?.digest),
    ...listOf(parsed.blobs).map((d) => d?.digest),
    ...listOf(parsed.manifests).map((d) => d?.digest),
    ...listOf(parsed.fsLayers).map((l) => l?.blobSum),
  ];
  return [...new Set(candidates.filter((d): d is string => typeof d === 'string' && isDigest(d)))];
}

function listOf<T>(value: T[] | undefined): T[] {
  return Array.isArray(value) ? value : [];
}
