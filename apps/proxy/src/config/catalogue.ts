/**
 * The built-in catalogue of public registries: where each one's v2 API is and which
 * token realms off its own host it uses. Configuration extends it (new names), changes
 * an entry (same name), or removes one (`enabled: false`).
 */
export interface CatalogueEntry {
  url: string;
  trustedRealms: string[];
}

export const CATALOGUE: Record<string, CatalogueEntry> = {
  'docker.io': { url: 'https://registry-1.docker.io', trustedRealms: ['https://auth.docker.io/token'] },
  'ghcr.io': { url: 'https://ghcr.io', trustedRealms: [] },
  'quay.io': { url: 'https://quay.io', trustedRealms: [] },
  'gcr.io': { url: 'https://gcr.io', trustedRealms: [] },
  // registry.k8s.io redirects to regional Artifact Registry hosts, whose realms live there.
  'registry.k8s.io': { url: 'https://registry.k8s.io', trustedRealms: ['https://*.pkg.dev/v2/token'] },
  'mcr.microsoft.com': { url: 'https://mcr.microsoft.com', trustedRealms: [] },
  'nvcr.io': { url: 'https://nvcr.io', trustedRealms: [] },
  'public.ecr.aws': { url: 'https://public.ecr.aws', trustedRealms: [] },
};
