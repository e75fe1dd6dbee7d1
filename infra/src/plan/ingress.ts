/**
 * Who may reach the mirror from the internet: only TCP 80 and 443, from the configured
 * client networks. Pure, so the rules are tested without Pulumi.
 */

export interface IngressRule {
  protocol: 'tcp';
  fromPort: number;
  toPort: number;
  cidrBlocks: string[];
  description: string;
}

export const EVERYONE = '0.0.0.0/0';

/** A security group holds at most 60 inbound IPv4 rules by default (one per CIDR). */
const MAX_CIDRS_PER_GROUP = 60;

export interface IngressInput {
  allowedCidrs: string[];
  /** Route 53 health checkers' ranges: added on 443 when allowedCidrs is narrowed, or the health check could not reach /healthz. */
  healthCheckerCidrs: string[];
  /** EC2 with built-in ACME: Let's Encrypt validates HTTP-01 on port 80 from addresses it does not publish. */
  port80FromEveryone: boolean;
}

export function isOpenToEveryone(allowedCidrs: string[]): boolean {
  return allowedCidrs.includes(EVERYONE);
}

export function planIngress(input: IngressInput): IngressRule[] {
  const open = isOpenToEveryone(input.allowedCidrs);
  const clients = open ? [EVERYONE] : input.allowedCidrs;
  const https = open ? clients : [...new Set([...clients, ...input.healthCheckerCidrs])];
  const http = input.port80FromEveryone ? [EVERYONE] : clients;
  if (https.length + http.length > MAX_CIDRS_PER_GROUP)
    throw new Error(`too many CIDRs for one security group (${https.length + http.length} > ${MAX_CIDRS_PER_GROUP}): narrow allowedCidrs`);
  return [
    {
      protocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      cidrBlocks: https,
      description: open ? 'HTTPS: everyone' : 'HTTPS: clients and Route 53 health checkers',
    },
    {
      protocol: 'tcp',
      fromPort: 80,
      toPort: 80,
      cidrBlocks: http,
      description: input.port80FromEveryone ? 'HTTP: ACME HTTP-01 challenges (and redirect to HTTPS)' : 'HTTP: redirect to HTTPS',
    },
  ];
}
