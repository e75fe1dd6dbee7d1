/**
 * Who may read cached content, in both auth modes. Content is stored once per digest,
 * so the question is always "may this client read digest D under repository R?":
 *
 *  1. D must belong to R: linked to R (see RepositoryLinks), or confirmed by the
 *     upstream under R right now (a HEAD, free on Docker Hub), which links it;
 *  2. passthrough mode: the client's own token must be accepted for R. The upstream's
 *     answer to that HEAD is remembered per token and repository (AccessMemo), so a
 *     warm pull costs no upstream call;
 *  3. a 404, 401 or 403 from the upstream is a denial, passed on to the client;
 *  4. while the upstream is unreachable (or answers 5xx/429), content already linked to
 *     R is served to a client already accepted for R, or to anyone when R is public
 *     (read with an anonymous token); in proxy mode, linked content is enough.
 *
 * Proxy mode has no memo: the mirror's own token check and image rules decided who may
 * ask for R, and the links decide what R contains.
 */
import { RegistryError } from '../errors.js';
import type { RegistryResponse, SourceRequest } from '../registry-source.js';
import type { AccessMemo } from './access-memo.js';
import type { RepositoryLinks } from './repository-links.js';

/** Upstream trouble: the upstream cannot answer now, which is not a denial. */
export function upstreamTrouble(err: unknown): boolean {
  return err instanceof RegistryError && (err.code === 'UNAVAILABLE' || err.code === 'TOOMANYREQUESTS' || err.status >= 500);
}

export interface AccessGateOptions {
  registry: string;
  links: RepositoryLinks;
  /** Passthrough mode only: which tokens the upstream accepted for which repositories. */
  memo?: AccessMemo;
}

export class AccessGate {
  constructor(private readonly options: AccessGateOptions) {}

  private get registry(): string {
    return this.options.registry;
  }

  /**
   * Throws unless the client may read `digest` under `request.repo`. `confirm` asks the
   * upstream (a HEAD for that digest under that repository, with the client's
   * credentials in passthrough mode) and throws the upstream's refusal.
   */
  async authorize(request: SourceRequest, digest: string, confirm: () => Promise<RegistryResponse>): Promise<void> {
    const linked = await this.options.links.has(this.registry, request.repo, digest);
    if (linked && this.tokenAccepted(request)) return;
    let response: RegistryResponse;
    try {
      response = await confirm();
      response.body?.destroy();
    } catch (err) {
      if (linked && upstreamTrouble(err) && this.mayServeOffline(request)) return;
      throw err;
    }
    if (response.fromFallback) {
      // Only a fallback mirror answered: the digest exists, but nothing says this client may read R.
      if (linked && this.mayServeOffline(request)) return;
      throw new RegistryError('UNAVAILABLE', 'the upstream cannot confirm access to this repository now');
    }
    await this.confirmed(request, response, [digest]);
  }

  /**
   * The upstream served or confirmed these digests under `request.repo`: link them. A
   * primary's answer also means it accepted this client's token for the repository.
   */
  async confirmed(request: SourceRequest, response: RegistryResponse, digests: Iterable<string>): Promise<void> {
    if (!response.fromFallback) this.options.memo?.allow(request.authorization, this.registry, request.repo);
    await this.options.links.add(this.registry, request.repo, digests);
  }

  /** May this client get content linked to its repository while the upstream cannot be asked? */
  mayServeOffline(request: SourceRequest): boolean {
    const memo = this.options.memo;
    return !memo || memo.isAllowed(request.authorization, this.registry, request.repo) || memo.isPublic(this.registry, request.repo);
  }

  private tokenAccepted(request: SourceRequest): boolean {
    return !this.options.memo || this.options.memo.isAllowed(request.authorization, this.registry, request.repo);
  }
}
