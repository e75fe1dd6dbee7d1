/**
 * What the two topologies (Ec2Mirror, FargateMirror) share: the settings both take from the stack
 * configuration, the start of their constructors, and the pieces of their security groups and roles
 * that must not drift apart. Each topology adds only what is its own.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { AccountRef } from '../mirror-contract.js';
import type { Network } from '../network.js';
import { type IngressRule, planIngress } from '../plan/ingress.js';

/** The settings every topology takes; program.ts builds them once from the configuration. */
export interface MirrorArgs {
  domain: string;
  image: string;
  network: Network;
  allowedCidrs: string[];
  /** Route 53 health checkers' ranges, when allowedCidrs is narrowed. */
  healthCheckerCidrs: pulumi.Input<string[]>;
  authMode: 'passthrough' | 'proxy';
  accounts: AccountRef[];
}

export interface MirrorScope {
  /** Options for every child: parented to the component, so each child sits under it in the stack's resource tree. */
  parent: { parent: pulumi.Resource };
  /** The region the stack deploys to (log configuration, SSM ARNs, the host's boot script). */
  region: pulumi.Output<string>;
}

/** Called right after `super(...)` in a topology's constructor. */
export function mirrorScope(component: pulumi.ComponentResource): MirrorScope {
  const parent = { parent: component };
  return { parent, region: aws.getRegionOutput({}, parent).region };
}

/**
 * The ingress of whatever faces the clients (the host, or the load balancer): 443 from the allowed
 * networks and, when they are narrowed, the Route 53 health checkers; 80 as plan/ingress.ts decides
 * (the host needs it open to everyone for ACME HTTP-01; the load balancer only redirects).
 */
export function clientIngress(args: MirrorArgs, port80FromEveryone: boolean): pulumi.Output<IngressRule[]> {
  return pulumi
    .output(args.healthCheckerCidrs)
    .apply((healthCheckerCidrs) => planIngress({ allowedCidrs: args.allowedCidrs, healthCheckerCidrs, port80FromEveryone }));
}

/**
 * The egress of whatever runs the mirror: the web on 443 (upstreams and AWS APIs, listed in
 * `httpsReaches` for the group's description) and on 80, for upstream registries served over plain HTTP.
 */
export function webEgress(httpsReaches: string): aws.types.input.ec2.SecurityGroupEgress[] {
  return [
    { protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'], description: httpsReaches },
    { protocol: 'tcp', fromPort: 80, toPort: 80, cidrBlocks: ['0.0.0.0/0'], description: 'upstream registries over plain HTTP' },
  ];
}

/** The trust policy of a role an AWS service assumes (ec2.amazonaws.com, ecs-tasks.amazonaws.com). */
export function serviceAssumeRolePolicy(service: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
  });
}
