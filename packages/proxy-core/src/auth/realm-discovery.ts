/**
 * Finds an upstream's token realm and service by asking `GET /v2/` and reading the
 * Bearer challenge (Docker token spec, "How to authenticate"). The answer is cached
 * for `ttlMs`: realms change rarely and every token request would otherwise cost a ping.
 */
import { RegistryError } from '../errors.js';
import { discard, type Fetcher } from '../fetch/types.js';
import type { UpstreamConfig } from '../upstream/upstream-config.js';
import { parseChallenge } from './challenge.js';
import { isTrustedRealm } from './realm-trust.js';

export type UpstreamAuth = { kind: 'bearer'; realm: URL; service: string | undefined } | { kind: 'none' };

export class RealmDiscovery {
  private cached: { value: UpstreamAuth; expires: number } | undefined;
  private pending: Promise<UpstreamAuth> | undefined;

  constructor(
    private readonly upstream: UpstreamConfig,
    private readonly fetcher: Fetcher,
    private readonly ttlMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async discover(): Promise<UpstreamAuth> {
    if (this.cached && this.cached.expires > this.now()) return this.cached.value;
    // Concurrent token requests share one ping.
    this.pending ??= this.ping().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async ping(): Promise<UpstreamAuth> {
    const url = new URL(`${this.upstream.url.href.replace(/\/+$/, '')}/v2/`);
    const response = await this.fetcher({ url, method: 'GET', headers: {} });
    discard(response);
    let value: UpstreamAuth;
    if (response.status === 200) {
      value = { kind: 'none' };
    } else {
      const challenge = parseChallenge(response.headers.get('www-authenticate'));
      if (response.status !== 401 || challenge?.scheme !== 'bearer' || !challenge.params.realm) {
        throw new RegistryError('UNAVAILABLE', `upstream ${this.upstream.name} sent no usable token challenge`);
      }
      let realm: URL;
      try {
        realm = new URL(challenge.params.realm);
      } catch {
        throw new RegistryError('UNAVAILABLE', `upstream ${this.upstream.name} sent an invalid realm`);
      }
      if (!isTrustedRealm(realm, this.upstream.url, this.upstream.trustedRealms)) {
        throw new RegistryError('UNAVAILABLE', `upstream ${this.upstream.name} named an untrusted token realm`, {
          detail: { realm: realm.origin },
        });
      }
      value = { kind: 'bearer', realm, service: challenge.params.service };
    }
    this.cached = { value, expires: this.now() + this.ttlMs };
    return value;
  }
}
