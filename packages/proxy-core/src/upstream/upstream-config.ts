/** What the core needs to know about one upstream registry. */
export interface UpstreamConfig {
  /** The registry's public name, e.g. `docker.io`, `ghcr.io`. */
  name: string;
  /** Base URL of its v2 API, e.g. `https://registry-1.docker.io`. */
  url: URL;
  /** Token realms trusted besides the registry's own host (`https://auth.docker.io/token`). */
  trustedRealms: string[];
  /** Docker Hub keeps official images under `library/`. */
  libraryPrefix: boolean;
}
