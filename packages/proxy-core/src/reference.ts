/**
 * Repository names, tags and digests as the distribution spec defines them
 * (OCI distribution-spec, "Pulling manifests": name and reference grammar).
 * Everything a client sends is checked here before any upstream is contacted.
 */
import { RegistryError } from './errors.js';

const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256_HEX_RE = /^[a-f0-9]{64}$/;
const SHA512_HEX_RE = /^[a-f0-9]{128}$/;
export const MAX_NAME_LENGTH = 255;

export function isValidName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

export function assertName(name: string): string {
  if (!isValidName(name))
    throw new RegistryError('NAME_INVALID', 'invalid repository name', { detail: { name: name.slice(0, MAX_NAME_LENGTH) } });
  return name;
}

/**
 * A registry host as the first segment of a client's name: `ghcr.io`, `localhost:5000`,
 * `registry.local:8443` (distribution's `domain` grammar, lower case; a config key names
 * registries the same way). Only a segment with a dot or a port, or `localhost`, is a host:
 * `library/redis` and `owner/img` are repository paths.
 */
const DOMAIN_COMPONENT = '[a-z0-9](?:[a-z0-9-]*[a-z0-9])?';
const REGISTRY_HOST_RE = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]{1,5})?$`);

function looksLikeHost(segment: string): boolean {
  return segment.includes('.') || segment.includes(':') || segment === 'localhost';
}

/**
 * Splits `<registry host>/<repository>` when the first segment is a host. The repository
 * part is checked against the name grammar; the whole string is not (a port's `:` is
 * not allowed in a repository name). Throws NAME_INVALID for anything else.
 */
export function splitRegistryHost(name: string): { host?: string; repository: string } {
  const slash = name.indexOf('/');
  const first = slash > 0 ? name.slice(0, slash) : '';
  if (first && looksLikeHost(first)) {
    if (!REGISTRY_HOST_RE.test(first))
      throw new RegistryError('NAME_INVALID', 'invalid registry host', { detail: { name: name.slice(0, MAX_NAME_LENGTH) } });
    return { host: first, repository: assertName(name.slice(slash + 1)) };
  }
  return { repository: assertName(name) };
}

export function isDigest(ref: string): boolean {
  if (!DIGEST_RE.test(ref)) return false;
  const [algorithm, hex] = ref.split(':') as [string, string];
  if (algorithm === 'sha256') return SHA256_HEX_RE.test(hex);
  if (algorithm === 'sha512') return SHA512_HEX_RE.test(hex);
  return false;
}

export function assertDigest(digest: string): string {
  if (!isDigest(digest)) throw new RegistryError('DIGEST_INVALID', 'invalid digest', { detail: { digest: digest.slice(0, 200) } });
  return digest;
}

export function isTag(ref: string): boolean {
  return TAG_RE.test(ref);
}

/** A manifest reference is a tag or a digest; anything else is MANIFEST_INVALID. */
export function parseManifestReference(ref: string): { kind: 'tag' | 'digest'; value: string } {
  if (ref.includes(':')) return { kind: 'digest', value: assertDigest(ref) };
  if (isTag(ref)) return { kind: 'tag', value: ref };
  throw new RegistryError('MANIFEST_INVALID', 'invalid tag or digest', { detail: { reference: ref.slice(0, 200) } });
}

/**
 * Docker Hub keeps official images under `library/`: a client pointed straight at a
 * mirror asks for `redis`, dockerd with `registry-mirrors` asks for `library/redis`.
 */
export function withLibraryPrefix(name: string): string {
  return name.includes('/') ? name : `library/${name}`;
}
