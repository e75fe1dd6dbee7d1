/**
 * Token scopes (`repository:<name>:<actions>`, Docker token spec) and their mapping
 * between the client's view of a name and the upstream's (the `library/` fix-up).
 */
export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

export function parseScope(raw: string): Scope | undefined {
  // The name may itself contain ':' only in the resource-class form `repository(plugin):…`;
  // type is up to the first ':', actions after the last one.
  const first = raw.indexOf(':');
  const last = raw.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const type = raw.slice(0, first);
  const name = raw.slice(first + 1, last);
  const actions = raw
    .slice(last + 1)
    .split(',')
    .filter(Boolean);
  if (!name) return undefined;
  return { type, name, actions };
}

export function formatScope(scope: Scope): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(',')}`;
}

/** Rewrites the repository name of every `repository:` scope; other scopes pass unchanged. */
export function mapScopes(raw: string[], mapName: (name: string) => string | undefined): string[] {
  const out: string[] = [];
  for (const entry of raw) {
    for (const one of entry.split(' ').filter(Boolean)) {
      const scope = parseScope(one);
      if (scope?.type !== 'repository') {
        out.push(one);
        continue;
      }
      const mapped = mapName(scope.name);
      if (mapped !== undefined) out.push(formatScope({ ...scope, name: mapped }));
    }
  }
  return out;
}
