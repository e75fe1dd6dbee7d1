/**
 * The blobs an image manifest refers to (config and layers; an artifact's blobs), which a
 * manifest fetched for repository R links to R. Registries refuse a pushed manifest whose
 * blobs are not in that repository, so they belong to R. An index's child manifests and a
 * referrer's `subject` are NOT linked: registries need not check that those exist in R (a
 * subject may be missing by the OCI spec), so an attacker's manifest could otherwise claim
 * another repository's content. They are linked when fetched, or confirmed by a HEAD, under R.
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
    ...listOf(parsed.layers).map((d) => d?.digest),
    ...listOf(parsed.blobs).map((d) => d?.digest),
    ...listOf(parsed.fsLayers).map((l) => l?.blobSum),
  ];
  return [...new Set(candidates.filter((d): d is string => typeof d === 'string' && isDigest(d)))];
}

function listOf<T>(value: T[] | undefined): T[] {
  return Array.isArray(value) ? value : [];
}
