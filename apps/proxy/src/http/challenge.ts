/**
 * The proxy's own auth challenge. Its realm is built from the configured public URL,
 * never from the request's Host header: a forged Host must not redirect a client's
 * credentials elsewhere.
 */
import { formatChallenge } from '@docxy/proxy-core';

export interface ChallengeOptions {
  publicUrl: URL;
  scope?: string;
  error?: string;
  /**
   * The registry a `?ns=` request was routed to (a configured name, never client text).
   * containerd does not repeat `?ns=` on the token request but adds a scope of its own
   * with the name relative to that registry; the realm carries it so the token request
   * routes like the request that was challenged.
   */
  ns?: string;
}

export function proxyChallenge({ publicUrl, scope, error, ns }: ChallengeOptions): string {
  const realm = new URL('auth/token', publicUrl.href.endsWith('/') ? publicUrl : new URL(`${publicUrl.href}/`));
  if (ns !== undefined) realm.searchParams.set('ns', ns);
  return formatChallenge('Bearer', { realm: realm.href, service: publicUrl.host, scope, error });
}
