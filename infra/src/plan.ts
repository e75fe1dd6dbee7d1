/**
 * Pure planning helpers for the single-host topology, kept apart from Pulumi so they
 * are testable without the engine: the host's boot script, its ports, its health check.
 */
export interface HostPlanInput {
  image: string;
  domain: string;
  /** Port the mirror listens on inside the host. */
  port: number;
  /** Size of the data volume in GiB (the blob cache lives there). */
  dataVolumeGiB: number;
  /** Client CIDRs allowed to reach the mirror. */
  allowedCidrs: string[];
}

export interface HostPlan {
  userData: string;
  ingress: Array<{ fromPort: number; toPort: number; cidrBlocks: string[]; description: string }>;
  healthCheckPath: string;
}

const SHELL_SAFE = /^[A-Za-z0-9./:@_-]+$/;

export function planHost(input: HostPlanInput): HostPlan {
  for (const [key, value] of Object.entries({ image: input.image, domain: input.domain })) {
    // Both end up in a boot script: refuse anything that could break out of it.
    if (!SHELL_SAFE.test(value)) throw new Error(`${key} contains characters not allowed in the boot script: ${value}`);
  }
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) throw new Error(`port out of range: ${input.port}`);
  if (input.allowedCidrs.length === 0) throw new Error('allowedCidrs must name at least one client network');
  const userData = [
    '#!/bin/bash',
    'set -euo pipefail',
    'dnf install -y docker',
    'systemctl enable --now docker',
    // The data volume is attached as the second disk; format it once, mount it at /srv/docxy.
    'DEV=$(lsblk -dpno NAME | grep -v "$(findmnt -no SOURCE / | sed "s/p\\?[0-9]*$//")" | head -n1)',
    'blkid "$DEV" || mkfs.xfs "$DEV"',
    'mkdir -p /srv/docxy && mount "$DEV" /srv/docxy',
    `docker run -d --restart=always --name docxy -p 443:${input.port} -v /srv/docxy:/data \\`,
    `  -e DOCXY_DATA_DIR=/data -e DOCXY_LISTEN=0.0.0.0:${input.port} -e DOCXY_PUBLIC_URL=https://${input.domain} \\`,
    `  ${input.image}`,
    '',
  ].join('\n');
  return {
    userData,
    ingress: [{ fromPort: 443, toPort: 443, cidrBlocks: input.allowedCidrs, description: 'registry clients' }],
    healthCheckPath: '/healthz',
  };
}
