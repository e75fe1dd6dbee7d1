/**
 * Which upstream registry a request is for, and the repository name the upstream
 * knows. Sources, in order: containerd's `?ns=<registry>`, a host alias
 * (`ghcr.mirror.example.com`), a path prefix naming a configured registry
 * (`/v2/ghcr.io/owner/img/...`), else the default registry. A name that maps to no
 * configured registry is NAME_UNKNOWN: nothing a client sends names a host to fetch from.
 */
import {
  type AccountPool,
  RegistryError,
  assertName,
  splitRegistryHost,
  withLibraryPrefix,
  type RegistrySource,
  type TokenRelay,
  type UpstreamConfig,
} from '@docxy/proxy-core';

export interface RoutedRegistry {
  upstream: UpstreamConfig;
  source: RegistrySource;
  tokens: TokenRelay;
  /** Host aliases that select this registry. */
  hosts: string[];
  /** Proxy mode: the operator's accounts for this registry (their quota, for metrics). */
  accounts?: AccountPool;
}

/** What in a request can name a registry. */
export interface RouteHints {
  ns?: string;
  /** The request's host name (no port), matched against configured aliases only. */
  host?: string;
}

export interface Route {
  registry: RoutedRegistry;
  /** Name as the upstream knows it (`library/redis`). */
  upstreamName: string;
}

export class RegistryRouter {
  private readonly aliases = new Map<string, string>();

  constructor(
    private readonly registries: ReadonlyMap<string, RoutedRegistry>,
    private readonly defaultName: string,
  ) {
    if (!registries.has(defaultName)) throw new Error(`default registry ${defaultName} is not configured`);
    for (const [name, registry] of registries) for (const host of registry.hosts) this.aliases.set(host, name);
  }

  get default(): RoutedRegistry {
    return this.registries.get(this.defaultName)!;
  }

  /** The registry `?ns=` or a host alias names, if either does. */
  private hinted(hints: RouteHints): string | undefined {
    if (hints.ns !== undefined) return hints.ns === 'index.docker.io' || hints.ns === 'registry-1.docker.io' ? 'docker.io' : hints.ns;
    return hints.host ? this.aliases.get(hints.host.toLowerCase()) : undefined;
  }

  private lookup(registryName: string, clientName: string): RoutedRegistry {
    const registry = this.registries.get(registryName);
    if (!registry) throw new RegistryError('NAME_UNKNOWN', 'repository name not known to this mirror', { detail: { name: clientName } });
    return registry;
  }

  /** The registry a request without a repository name (a token request with no scope) is for. */
  select(hints: RouteHints): RoutedRegistry {
    const name = this.hinted(hints);
    return name === undefined ? this.default : this.lookup(name, '');
  }

  /**
   * The registry a client's login on this Host belongs to: a host alias's registry, else
   * the default. Clients keep credentials per host they talk to, so the Host is what
   * says whose credentials they are; `?ns=` is not (containerd sends the same mirror
   * credentials for every namespace it routes through the mirror).
   */
  loginRegistry(hints: RouteHints): RoutedRegistry {
    const alias = hints.host ? this.aliases.get(hints.host.toLowerCase()) : undefined;
    return alias === undefined ? this.default : this.lookup(alias, '');
  }

  resolve(clientName: string, hints: RouteHints = {}): Route {
    const hinted = this.hinted(hints);
    // Without a hint, a first segment that is a host (`ghcr.io`, `localhost:5000`) names the
    // registry. With one, it may only repeat the hinted registry: the challenge's scope names
    // the registry (`ghcr.io/owner/img`), and a token request on an alias host must map it
    // to the same repository as the request that was challenged.
    let registryName = hinted ?? this.defaultName;
    let name = clientName;
    const split = hinted === undefined || clientName.startsWith(`${hinted}/`) ? splitRegistryHost(clientName) : undefined;
    if (split?.host !== undefined) {
      registryName = hinted ?? split.host;
      name = split.repository;
    }
    assertName(name);
    const registry = this.lookup(registryName, clientName);
    const upstreamName = registry.upstream.libraryPrefix ? withLibraryPrefix(name) : name;
    return { registry, upstreamName: assertName(upstreamName) };
  }
}
