/**
 * Ready-to-paste client configuration for the provisioned domain (stack outputs), the same
 * shapes as README "Client setup".
 */

/** /etc/docker/daemon.json: Docker Hub images through the mirror. */
export function daemonJson(domain: string): string {
  return `${JSON.stringify({ 'registry-mirrors': [`https://${domain}`] }, null, 2)}\n`;
}

/** /etc/containerd/certs.d/docker.io/hosts.toml (containerd adds ?ns=docker.io; the mirror routes on it). */
export function hostsToml(domain: string): string {
  return ['server = "https://registry-1.docker.io"', '', `[host."https://${domain}"]`, '  capabilities = ["pull", "resolve"]', ''].join(
    '\n',
  );
}

/** /etc/containers/registries.conf (podman, skopeo, buildah, CRI-O). */
export function registriesConf(domain: string): string {
  return ['[[registry]]', 'prefix = "docker.io"', 'location = "docker.io"', '', '[[registry.mirror]]', `location = "${domain}"`, ''].join(
    '\n',
  );
}
