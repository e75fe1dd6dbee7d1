/**
 * Image globs, matched against "<registry>/<repository>" (e.g. "docker.io/library/redis"):
 * `*` matches within one path segment, `**` any number of segments.
 */
const VALID = /^(\*\*|[a-z0-9._*:-]+)(\/(\*\*|[a-z0-9._*-]+))*$/;

export function isValidGlob(glob: string): boolean {
  return VALID.test(glob) && !/\*\*\*/.test(glob) && glob.split('/').every((seg) => seg === '**' || !seg.includes('**'));
}

export function globToRegExp(glob: string): RegExp {
  if (!isValidGlob(glob)) throw new Error(`not an image glob: ${glob}`);
  const parts = glob
    .split('/')
    .map((segment) => (segment === '**' ? '.*' : segment.replace(/[.+?^${}()|[\]\\-]/g, '\\$&').replace(/\*/g, '[^/]*')));
  // "a/**" also matches "a" itself; "**/b" matches "b".
  const pattern = parts
    .join('/')
    .replace(/\/\.\*$/, '(/.*)?')
    .replace(/^\.\*\//, '(.*/)?');
  return new RegExp(`^${pattern}$`);
}
