/**
 * Which upstream registry a request is for, and the repository name the upstream
 * knows. Sources, in order: containerd's `?ns=<registry>`, a path prefix naming a
 * configured registry (`/v2/ghcr.io/owner/img/...`), else the default registry.
 * A name that maps to no configured registry is NAME_UNKNOWN: it never causes a fetch.
 */
import { RegistryError, assertName, withLibraryPrefix, type RegistrySource, type TokenRelay, type UpstreamConfig } from '@docxy/proxy-core';

export interface RoutedRegistry {
  upstream: UpstreamConfig;
  source: RegistrySource;
  tokens: TokenRelay;
}

export interface Route {
  registry: RoutedRegistry;
  /** Name as the upstream knows it (`library/redis`). */
  upstreamName: string;
}

export class RegistryRouter {
  constructor(
    private readonly registries: ReadonlyMap<string, RoutedRegistry>,
    private readonly defaultName: string,
  ) {
    if (!registries.has(defaultName)) throw new Error(`default registry ${defaultName} is not configured`);
  }

  get default(): RoutedRegistry {
    return this.registries.get(this.defaultName)!;
  }

  resolve(clientName: string, ns?: string): Route {
    assertName(clientName);
    let registryName = this.defaultName;
    let name = clientName;
    if (ns !== undefined) {
      registryName = ns === 'index.docker.io' || ns === 'registry-1.docker.io' ? 'docker.io' : ns;
    } else {
      const slash = clientName.indexOf('/');
      const first = slash > 0 ? clientName.slice(0, slash) : '';
      // Only a segment that looks like a host (has a dot or port) can name a registry;
      // `library/redis` and `owner/img` stay on the default registry.
      if (/[.:]/.test(first) || first === 'localhost') {
        registryName = first;
        name = clientName.slice(slash + 1);
      }
    }
    const registry = this.registries.get(registryName);
    if (!registry) throw new RegistryError('NAME_UNKNOWN', 'repository name not known to this mirror', { detail: { name: clientName } });
    const upstreamName = registry.upstream.libraryPrefix ? withLibraryPrefix(name) : name;
    return { registry, upstreamName: assertName(upstreamName) };
  }
}
