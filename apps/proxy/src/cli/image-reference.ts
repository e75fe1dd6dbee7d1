/**
 * Image references as people type them (`redis`, `redis:7`, `ghcr.io/owner/app:1.2`,
 * `localhost:5000/team/app@sha256:…`), turned into the mirror path name and reference.
 * The mirror routes a leading registry segment itself (path prefix), and adds `library/`
 * to one-segment Docker Hub names.
 */
import { isDigest, isTag, isValidName } from '@docxy/proxy-core';

export interface ImageReference {
  /** Name as sent to the mirror: `redis`, `ghcr.io/owner/app`, `localhost:5000/team/app`. */
  name: string;
  /** Tag or digest. */
  reference: string;
}

export function parseImageReference(text: string): ImageReference {
  let rest = text.trim();
  let reference: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(reference)) throw new Error(`"${text}": "${reference}" is not a digest`);
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    const tag = rest.slice(colon + 1);
    if (!isTag(tag)) throw new Error(`"${text}": "${tag}" is not a valid tag`);
    reference ??= tag;
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf('/');
  const first = slash > 0 ? rest.slice(0, slash) : '';
  // Like docker: a first segment with a dot or a port, or "localhost", names a registry.
  const registry = /[.:]/.test(first) || first === 'localhost' ? first : undefined;
  const repository = registry ? rest.slice(slash + 1) : rest;
  if (!isValidName(repository)) throw new Error(`"${text}": "${repository}" is not a valid repository name`);
  return { name: registry ? `${registry}/${repository}` : repository, reference: reference ?? 'latest' };
}
