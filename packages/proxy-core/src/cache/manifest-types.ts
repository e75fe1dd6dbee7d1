/**
 * Manifest media types and what a client's Accept says about them. A registry answers
 * a tag request according to the Accept it receives: a client that does not accept a
 * manifest list gets the platform manifest the registry selects for it (distribution
 * picks linux/amd64). So what is remembered about a tag is keyed by the client's
 * accept class, and an answer is shared only with clients that would get the same one.
 */

export const MEDIA = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociArtifact: 'application/vnd.oci.artifact.manifest.v1+json',
} as const;

/** Every media type a manifest response may carry; anything else is not a manifest. */
export const MANIFEST_MEDIA_TYPES: ReadonlySet<string> = new Set(Object.values(MEDIA));

/** The types the mirror asks with when it only wants to know whether a digest exists. */
export const ANY_MANIFEST = [...MANIFEST_MEDIA_TYPES].join(', ');

const LIST_TYPES: ReadonlySet<string> = new Set([MEDIA.dockerList, MEDIA.ociIndex]);
/** A client accepting all of these never gets a converted or platform-selected answer. */
const MODERN_TYPES = [MEDIA.dockerManifest, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.ociIndex];

/** The media type of a Content-Type header (parameters dropped, lower-cased). */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Media types a client's Accept header lists (parameters and q-values ignored). */
export function acceptedTypes(accept: string | undefined): Set<string> {
  const out = new Set<string>();
  for (const part of (accept ?? '').split(',')) {
    const type = mediaTypeOf(part);
    if (type) out.add(type);
  }
  return out;
}

/** A cached manifest is served only to a client whose Accept names its media type. */
export function accepts(accept: string | undefined, mediaType: string): boolean {
  return acceptedTypes(accept).has(mediaType.toLowerCase());
}

/**
 * The negotiated class of a client's Accept: which manifest types it takes. Two clients
 * of one class get the same answer from the upstream for the same tag.
 */
export function acceptClass(accept: string | undefined): string {
  const accepted = acceptedTypes(accept);
  const names = Object.entries(MEDIA)
    .filter(([, type]) => accepted.has(type))
    .map(([name]) => name);
  return names.length > 0 ? names.join('+') : 'none';
}

/**
 * Whether an answer for this Accept is the tag's own manifest rather than one the
 * upstream selected or converted for a client that could not take it. Only such an
 * answer may serve clients of other classes (those that accept its type).
 */
export function isTagsOwnManifest(accept: string | undefined, mediaType: string): boolean {
  if (LIST_TYPES.has(mediaType)) return true;
  const accepted = acceptedTypes(accept);
  return MODERN_TYPES.every((type) => accepted.has(type));
}
