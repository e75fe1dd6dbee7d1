/**
 * The whole stack from a validated configuration: the chosen topology, its DNS name and
 * health alarm, the image repository, upstream secrets and the CI deploy role. index.ts
 * exports what this returns as the stack's outputs; tests call it under Pulumi's mocks.
 */
import * as pulumi from '@pulumi/pulumi';
import { CiDeployRole } from './components/ci-deploy-role.js';
import { DnsAndHealth, type DnsTarget } from './components/dns-and-health.js';
import { Ec2Mirror } from './components/ec2-mirror.js';
import { FargateMirror } from './components/fargate-mirror.js';
import { ImageRepository } from './components/image-repository.js';
import type { MirrorArgs } from './components/mirror-common.js';
import { MirrorSecrets } from './components/mirror-secrets.js';
import type { StackConfig } from './config.js';
import { healthCheckerCidrs, lookupNetwork } from './network.js';
import { parameterPath } from './plan/names.js';
import { isOpenToEveryone } from './plan/ingress.js';
import { daemonJson, hostsToml, registriesConf } from './plan/snippets.js';

/** Every resource's name starts with this (and so do the IAM names the CI role may manage). */
export const NAME = 'docxy';

export interface StackOutputs {
  url: pulumi.Output<string>;
  daemonJson: string;
  hostsToml: string;
  registriesConf: string;
  ciRoleArn?: pulumi.Output<string>;
  imageRepositoryUrl: pulumi.Output<string>;
  topology: string;
  /** fargate: the load balancer's name; ec2: the host's address. */
  endpoint: pulumi.Output<string>;
  /** ec2: the host, for `aws ssm start-session --target <id>`. */
  instanceId?: pulumi.Output<string>;
  healthCheckId: pulumi.Output<string>;
}

/**
 * The settings both topologies take from the configuration alike, built in one place so the two
 * cannot drift; each topology adds its own (config.fargate / config.ec2) when it is created.
 */
function mirrorArgs(config: StackConfig): MirrorArgs {
  return {
    domain: config.domain,
    image: config.image,
    network: lookupNetwork(config),
    allowedCidrs: config.allowedCidrs,
    // Route 53's checker ranges are looked up only when the client networks are narrowed.
    healthCheckerCidrs: isOpenToEveryone(config.allowedCidrs) ? pulumi.output<string[]>([]) : healthCheckerCidrs(),
    authMode: config.authMode,
    // Usernames only: the passwords reach the mirror through MirrorSecrets.
    accounts: config.upstreamAccounts.map(({ registry, username }) => ({ registry, username })),
  };
}

/** `opts` reach every top-level component (tests pass transformations through it). */
export function deployDocxy(
  config: StackConfig,
  stack: string = pulumi.getStack(),
  opts: pulumi.ComponentResourceOptions = {},
): StackOutputs {
  const path = parameterPath(stack);
  const common = mirrorArgs(config);

  const images = new ImageRepository(`${NAME}-images`, {}, opts);
  const secrets = new MirrorSecrets(
    `${NAME}-secrets`,
    { parameterPath: path, accounts: config.upstreamAccounts, signingKey: config.signingKey },
    opts,
  );

  let target: DnsTarget;
  let endpoint: pulumi.Output<string>;
  let instanceId: pulumi.Output<string> | undefined;
  if (config.topology === 'fargate') {
    const mirror = new FargateMirror(NAME, { ...common, zoneId: config.zoneId, secrets: secrets.secrets, ...config.fargate }, opts);
    target = { kind: 'alias', dnsName: mirror.loadBalancerDnsName, zoneId: mirror.loadBalancerZoneId };
    endpoint = mirror.loadBalancerDnsName;
  } else {
    const mirror = new Ec2Mirror(
      NAME,
      { ...common, parameterPath: path, repositoryArn: images.repositoryArn, ...config.ec2 },
      // The host reads its passwords at start: they must exist first.
      { ...opts, dependsOn: [secrets] },
    );
    target = { kind: 'address', ip: mirror.publicIp };
    endpoint = mirror.publicIp;
    instanceId = mirror.instanceId;
  }

  const dns = new DnsAndHealth(NAME, { domain: config.domain, zoneId: config.zoneId, target, alarmEmail: config.alarmEmail }, opts);
  const ci = config.ciRepository
    ? new CiDeployRole(`${NAME}-ci`, {
        repository: config.ciRepository,
        existingProviderArn: config.ciOidcProviderArn,
        iamNamePrefix: NAME,
      })
    : undefined;

  return {
    url: dns.url,
    daemonJson: daemonJson(config.domain),
    hostsToml: hostsToml(config.domain),
    registriesConf: registriesConf(config.domain),
    ciRoleArn: ci?.roleArn,
    imageRepositoryUrl: images.repositoryUrl,
    topology: config.topology,
    endpoint,
    instanceId,
    healthCheckId: dns.healthCheckId,
  };
}
