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
}

export function proxyChallenge({ publicUrl, scope, error }: ChallengeOptions): string {
  const realm = new URL('auth/token', publicUrl.href.endsWith('/') ? publicUrl : new URL(`${publicUrl.href}/`));
  return formatChallenge('Bearer', { realm: realm.href, service: publicUrl.host, scope, error });
}
