/**
 * Copy-paste client configuration for this mirror, with its public URL filled in: dockerd
 * `daemon.json`, containerd `hosts.toml`, podman `registries.conf`. A plain-HTTP mirror
 * gets the insecure settings each client needs.
 */

export interface SetupSnippet {
  id: string;
  title: string;
  /** Where the file goes. */
  path: string;
  text: string;
}

export function clientSetup(publicUrl: URL, registry: { name: string; url: string }): SetupSnippet[] {
  const base = publicUrl.href.replace(/\/$/, '');
  const host = publicUrl.host;
  const plain = publicUrl.protocol === 'http:';
  const daemon = plain ? { 'registry-mirrors': [base], 'insecure-registries': [host] } : { 'registry-mirrors': [base] };
  return [
    {
      id: 'dockerd',
      title: 'Docker (dockerd), Docker Hub images',
      path: '/etc/docker/daemon.json',
      text: `${JSON.stringify(daemon, null, 2)}\n`,
    },
    {
      id: 'containerd',
      title: 'containerd, Kubernetes nodes',
      path: `/etc/containerd/certs.d/${registry.name}/hosts.toml`,
      text: `server = "${registry.url}"\n\n[host."${base}"]\n  capabilities = ["pull", "resolve"]\n`,
    },
    {
      id: 'podman',
      title: 'podman, skopeo, buildah, CRI-O',
      path: '/etc/containers/registries.conf',
      text: `[[registry]]\nprefix = "${registry.name}"\nlocation = "${registry.name}"\n\n[[registry.mirror]]\nlocation = "${host}"\n${plain ? 'insecure = true\n' : ''}`,
    },
  ];
}
