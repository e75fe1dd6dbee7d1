/**
 * Stack configuration (namespace `docxy`): read once, validated once, typed. Every key is
 * described where it is parsed; a bad value stops `pulumi up` with a message naming the key.
 * `parseStackConfig` is pure (tested without Pulumi); `readStackConfig` feeds it the stack's values.
 */
import * as pulumi from '@pulumi/pulumi';
import { fargateSize } from './plan/sizes.js';

export type Topology = 'fargate' | 'ec2';

/** An operator account the mirror uses for an upstream registry (its password stays a secret). */
export interface UpstreamAccount {
  registry: string;
  username: string;
  password: pulumi.Output<string>;
}

export type AuthMode = 'passthrough' | 'proxy';

export interface StackConfig {
  topology: Topology;
  authMode: AuthMode;
  /** proxy mode on fargate: the EC P-256 PEM key every task signs tokens with. */
  signingKey?: pulumi.Output<string>;
  domain: string;
  zoneId: string;
  image: string;
  alarmEmail?: string;
  allowedCidrs: string[];
  upstreamAccounts: UpstreamAccount[];
  ciRepository?: string;
  ciOidcProviderArn?: string;
  vpcId?: string;
  subnetIds?: string[];
  fargate: { desiredCount: number; maxCount: number; cpu: number; memory: number; cacheExpiryDays: number };
  ec2: { instanceType: string; dataVolumeGiB: number; acmeEmail?: string; acmeDirectoryUrl?: string; acmeStaging: boolean };
}

/** Raw values as the stack holds them (strings; objects as JSON), and which keys are secrets. */
export interface RawConfig {
  values: Record<string, string | undefined>;
  secretKeys: ReadonlySet<string>;
}

export class StackConfigError extends Error {
  constructor(key: string, message: string) {
    super(`docxy:${key}: ${message}`);
    this.name = 'StackConfigError';
  }
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ZONE_ID = /^Z[A-Z0-9]{1,31}$/;
// An image reference; it also ends up in an SSM parameter read by a shell script, so no spaces or quotes.
const IMAGE = /^[a-z0-9][a-z0-9._/:@-]*$/;
const EMAIL = /^[^\s@"'`$\\]+@[a-z0-9.-]+\.[a-z]{2,63}$/i;
// Graviton families carry a "g" after the generation digit (t4g, m7g, c7gn, r8g): the image is built for ARM64.
const GRAVITON = /^[a-z]+\d+g[a-z]*\.[a-z0-9]+$/;
const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const REGISTRY = /^[a-z0-9.-]+(:\d{1,5})?$/;
const USERNAME = /^[^\s"'`$\\]+$/;

export function isIpv4Cidr(value: string): boolean {
  const m = IPV4_CIDR.exec(value);
  return !!m && m.slice(1, 5).every((octet) => Number(octet) <= 255) && Number(m[5]) <= 32;
}

export function parseStackConfig(raw: RawConfig): StackConfig {
  const { values } = raw;
  const str = (key: string, pattern: RegExp, what: string): string | undefined => {
    const value = values[key];
    if (value === undefined || value === '') return undefined;
    if (!pattern.test(value)) throw new StackConfigError(key, `expected ${what}, got "${value}"`);
    return value;
  };
  const required = (key: string, pattern: RegExp, what: string): string => {
    const value = str(key, pattern, what);
    if (value === undefined) throw new StackConfigError(key, `required (pulumi config set docxy:${key} <${what}>)`);
    return value;
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const value = values[key];
    if (value === undefined || value === '') return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new StackConfigError(key, `expected a whole number from ${min} to ${max}, got "${value}"`);
    return n;
  };
  const json = (key: string): unknown => {
    const value = values[key];
    if (value === undefined || value === '') return undefined;
    try {
      return JSON.parse(value);
    } catch {
      throw new StackConfigError(key, 'expected JSON (pulumi config set --path, or a JSON value)');
    }
  };

  // topology: "fargate" (default: ECS service behind an ALB, S3 cache) or "ec2" (one Graviton host, EBS cache, built-in ACME).
  const topology = values.topology ?? 'fargate';
  if (topology !== 'fargate' && topology !== 'ec2')
    throw new StackConfigError('topology', `expected "fargate" or "ec2", got "${topology}"`);
  // domain: the DNS name clients use (https://<domain>); a name in the zone below.
  const domain = required('domain', DOMAIN, 'a lower-case DNS name such as mirror.example.com');
  // zoneId: the Route 53 hosted zone that holds domain.
  const zoneId = required('zoneId', ZONE_ID, 'a Route 53 hosted zone id such as Z0123456789ABC');
  // image: the mirror's container image (ARM64); CI sets it to the tag it pushed.
  const image = required('image', IMAGE, 'an image reference such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com/docxy:abc123');
  // alarmEmail: where the health alarm is mailed (optional; the SNS topic exists either way).
  const alarmEmail = str('alarmEmail', EMAIL, 'an email address');
  // allowedCidrs: client networks allowed to reach the mirror (default everyone), e.g. ["203.0.113.0/24"].
  const cidrs = json('allowedCidrs') ?? ['0.0.0.0/0'];
  if (!Array.isArray(cidrs) || cidrs.length === 0 || !cidrs.every((c) => typeof c === 'string' && isIpv4Cidr(c)))
    throw new StackConfigError('allowedCidrs', 'expected a non-empty JSON list of IPv4 CIDRs');
  // upstreamAccounts (secret): [{"registry":"docker.io","username":"me","password":"…"}], set with --secret.
  const upstreamAccounts = parseAccounts(json('upstreamAccounts'), raw.secretKeys.has('upstreamAccounts'));
  // authMode: "passthrough" (default: clients' own upstream logins are relayed) or "proxy" (clients
  // pull through the mirror's upstreamAccounts; anonymously unless the mirror's auth says otherwise).
  const authMode = values.authMode || 'passthrough';
  if (authMode !== 'passthrough' && authMode !== 'proxy')
    throw new StackConfigError('authMode', `expected "passthrough" or "proxy", got "${authMode}"`);
  if (upstreamAccounts.length > 0 && authMode !== 'proxy')
    throw new StackConfigError('upstreamAccounts', 'used only with authMode "proxy" (passthrough relays each client\'s own login)');
  // signingKey (secret, fargate + proxy): the PEM EC P-256 key the tasks sign tokens with; every replica needs
  // the same one (ec2 keeps the key the mirror generates on its data volume).
  const signingKey = parseSigningKey(values.signingKey, raw.secretKeys.has('signingKey'), topology, authMode);
  // ciRepository: "owner/name" of the GitHub repository whose main branch may deploy (creates ciRoleArn).
  const ciRepository = str('ciRepository', REPOSITORY, 'a GitHub repository as owner/name');
  // ciOidcProviderArn: reuse the account's GitHub OIDC provider (an account holds one per issuer URL).
  const ciOidcProviderArn = str('ciOidcProviderArn', /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/.+$/, 'an IAM OIDC provider ARN');
  // vpcId / subnetIds: where to run (default: the region's default VPC and its default subnets).
  const vpcId = str('vpcId', /^vpc-[0-9a-f]+$/, 'a VPC id');
  const subnetIds = json('subnetIds');
  if (
    subnetIds !== undefined &&
    (!Array.isArray(subnetIds) || !subnetIds.every((s) => typeof s === 'string' && /^subnet-[0-9a-f]+$/.test(s)))
  )
    throw new StackConfigError('subnetIds', 'expected a JSON list of subnet ids');
  if ((vpcId === undefined) !== (subnetIds === undefined)) throw new StackConfigError('subnetIds', 'set vpcId and subnetIds together');

  // fargate: desiredCount (tasks at rest, default 1), maxCount (autoscaling ceiling, default 3),
  // cpu (units, default 512) and memory (MiB, default 1024): a combination Fargate offers.
  const desiredCount = int('desiredCount', 1, 1, 100);
  const maxCount = int('maxCount', Math.max(3, desiredCount), 1, 100);
  if (maxCount < desiredCount) throw new StackConfigError('maxCount', `must be at least desiredCount (${desiredCount})`);
  const size = fargateSize(int('cpu', 512, 256, 16384), int('memory', 1024, 512, 122880));
  if (typeof size === 'string') throw new StackConfigError(size.startsWith('cpu') ? 'cpu' : 'memory', size);
  // cacheExpiryDays: S3 blobs are deleted this long after they were cached (fetched again on demand).
  const cacheExpiryDays = int('cacheExpiryDays', 30, 1, 3650);

  // ec2: instanceType (Graviton, default t4g.small), dataVolumeGiB (the cache disk, default 50),
  // acmeEmail (contact given to Let's Encrypt, optional), acmeStaging ("true": Let's Encrypt staging,
  // untrusted certificates, for a first try) or acmeDirectoryUrl (another ACME CA).
  const instanceType = str('instanceType', GRAVITON, 'a Graviton (ARM64) instance type such as t4g.small') ?? 't4g.small';
  const dataVolumeGiB = int('dataVolumeGiB', 50, 10, 16384);
  const acmeEmail = str('acmeEmail', EMAIL, 'an email address');
  const acmeDirectoryUrl = str('acmeDirectoryUrl', /^https:\/\/[^\s"'`$\\]+$/, 'an https URL');
  const acmeStaging = str('acmeStaging', /^(true|false)$/, 'true or false') === 'true';
  if (acmeStaging && acmeDirectoryUrl) throw new StackConfigError('acmeStaging', 'give either acmeStaging or acmeDirectoryUrl, not both');

  return {
    topology,
    authMode,
    signingKey,
    domain,
    zoneId,
    image,
    alarmEmail,
    allowedCidrs: cidrs as string[],
    upstreamAccounts,
    ciRepository,
    ciOidcProviderArn,
    vpcId,
    subnetIds: subnetIds as string[] | undefined,
    fargate: { desiredCount, maxCount, ...size, cacheExpiryDays },
    ec2: { instanceType, dataVolumeGiB, acmeEmail, acmeDirectoryUrl, acmeStaging },
  };
}

function parseSigningKey(
  value: string | undefined,
  isSecret: boolean,
  topology: Topology,
  authMode: AuthMode,
): pulumi.Output<string> | undefined {
  const needed = topology === 'fargate' && authMode === 'proxy';
  if (!value) {
    if (needed)
      throw new StackConfigError(
        'signingKey',
        'required for authMode "proxy" on fargate (tasks must share it): openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt | pulumi config set --secret docxy:signingKey',
      );
    return undefined;
  }
  if (!needed) throw new StackConfigError('signingKey', 'used only with authMode "proxy" on fargate');
  if (!isSecret) throw new StackConfigError('signingKey', 'must be set with --secret');
  if (!/^-----BEGIN (EC )?PRIVATE KEY-----\n[\s\S]+\n-----END (EC )?PRIVATE KEY-----\s*$/.test(value))
    throw new StackConfigError('signingKey', 'expected a PEM private key');
  return pulumi.secret(value);
}

function parseAccounts(value: unknown, isSecret: boolean): UpstreamAccount[] {
  if (value === undefined) return [];
  // The passwords would otherwise sit in plain text in Pulumi.<stack>.yaml.
  if (!isSecret) throw new StackConfigError('upstreamAccounts', 'must be set with --secret (it holds passwords)');
  if (!Array.isArray(value)) throw new StackConfigError('upstreamAccounts', 'expected a JSON list');
  return value.map((entry: unknown, index) => {
    const e = (entry ?? {}) as Record<string, unknown>;
    const bad = (what: string): never => {
      throw new StackConfigError(`upstreamAccounts[${index}]`, what);
    };
    if (typeof e.registry !== 'string' || !REGISTRY.test(e.registry)) bad('registry: expected a registry name such as docker.io');
    if (typeof e.username !== 'string' || !USERNAME.test(e.username)) bad('username: expected a user name');
    if (typeof e.password !== 'string' || e.password === '') bad('password: required');
    return { registry: e.registry as string, username: e.username as string, password: pulumi.secret(e.password as string) };
  });
}

const KEYS = [
  'topology',
  'authMode',
  'signingKey',
  'domain',
  'zoneId',
  'image',
  'alarmEmail',
  'allowedCidrs',
  'upstreamAccounts',
  'ciRepository',
  'ciOidcProviderArn',
  'vpcId',
  'subnetIds',
  'desiredCount',
  'maxCount',
  'cpu',
  'memory',
  'cacheExpiryDays',
  'instanceType',
  'dataVolumeGiB',
  'acmeEmail',
  'acmeDirectoryUrl',
  'acmeStaging',
];

// Exported by @pulumi/pulumi's runtime (3.248) but missing from its typings.
const runtime = pulumi.runtime as unknown as { isConfigSecret(key: string): boolean };

/** The stack's `docxy:*` values. Raw reads: secrets are wrapped again by parseStackConfig. */
export function readStackConfig(): StackConfig {
  const values: Record<string, string | undefined> = {};
  const secretKeys = new Set<string>();
  for (const key of KEYS) {
    values[key] = pulumi.runtime.getConfig(`docxy:${key}`);
    if (runtime.isConfigSecret(`docxy:${key}`)) secretKeys.add(key);
  }
  return parseStackConfig({ values, secretKeys });
}
