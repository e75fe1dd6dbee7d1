/**
 * Runs the program under Pulumi's mocks (no CLI, no AWS) and captures every resource's
 * inputs as the engine would receive them, for assertions and for the policy pack.
 */
import { generateKeyPairSync } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';
import { parseStackConfig, type StackConfig } from '../../src/config.js';
import { deployDocxy, type StackOutputs } from '../../src/program.js';

export interface Captured {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  /** Resource options as the program set them (ignoreChanges, retainOnDelete, …). */
  opts: pulumi.CustomResourceOptions;
}

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const VPC_CIDR = '172.31.0.0/16';
export const HEALTH_CHECKER_CIDRS = ['15.177.0.0/18', '54.243.31.192/26'];

/** What the fake cloud answers beyond echoing inputs: ids, ARNs and computed attributes. */
function computed(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const arn = `arn:aws:${type.split(':')[1]?.split('/')[0]}:${REGION}:${ACCOUNT}:${name}`;
  switch (type) {
    case 'aws:acm/certificate:Certificate':
      return {
        arn,
        domainValidationOptions: [
          {
            domainName: inputs.domainName,
            resourceRecordName: `_abc.${inputs.domainName}.`,
            resourceRecordType: 'CNAME',
            resourceRecordValue: '_xyz.acm-validations.aws.',
          },
        ],
      };
    case 'aws:lb/loadBalancer:LoadBalancer':
      return { arn, dnsName: `${name}-1234.${REGION}.elb.amazonaws.com`, zoneId: 'Z32O12XQLNTSW2' };
    case 'aws:ec2/eip:Eip':
      return { publicIp: '198.51.100.7' };
    case 'aws:s3/bucket:Bucket':
      return { arn: `arn:aws:s3:::${name}-bucket`, bucket: `${name}-bucket` };
    case 'aws:ecr/repository:Repository':
      return { arn, name, repositoryUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${name}` };
    case 'aws:route53/record:Record':
      return { fqdn: String(inputs.name).replace(/\.$/, '') };
    case 'aws:ecs/cluster:Cluster':
    case 'aws:ecs/service:Service':
    case 'aws:iam/role:Role':
    case 'aws:iam/instanceProfile:InstanceProfile':
    case 'aws:cloudwatch/logGroup:LogGroup':
      return { arn, name };
    case 'aws:ssm/parameter:Parameter':
      return { arn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${inputs.name}` };
    default:
      return { arn };
  }
}

export const VOLUME_ID = 'vol-0123456789abcdef0';
function idOf(type: string, name: string): string {
  return type === 'aws:ebs/volume:Volume' ? VOLUME_ID : `${name}-id`;
}

const invokes: Record<string, (inputs: Record<string, unknown>) => Record<string, unknown>> = {
  'aws:index/getRegion:getRegion': () => ({ id: REGION, name: REGION, region: REGION }),
  'aws:index/getCallerIdentity:getCallerIdentity': () => ({ accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/ci`, userId: 'AIDA' }),
  'aws:ec2/getVpc:getVpc': (inputs) => ({ id: inputs.id ?? 'vpc-0default', cidrBlock: VPC_CIDR }),
  'aws:ec2/getSubnets:getSubnets': () => ({ ids: ['subnet-0b', 'subnet-0a'] }),
  'aws:ec2/getSubnet:getSubnet': (inputs) => ({ id: inputs.id, availabilityZone: `${REGION}a` }),
  'aws:ec2/getAmi:getAmi': () => ({ id: 'ami-0arm64al2023' }),
  'aws:index/getIpRanges:getIpRanges': () => ({ cidrBlocks: HEALTH_CHECKER_CIDRS, ipv6CidrBlocks: [] }),
};

/** How a secret input reaches the engine (Pulumi's secret signature). */
export function secretValue(value: unknown): Record<string, unknown> {
  return { '4dabf18193072939515e22adb298388d': '1b47061264138c4ac30d75fd1eb44270', value };
}

/** An input's value, unwrapped when it is marked secret. */
export function plain(input: unknown): unknown {
  const secret = secretValue(undefined);
  const sig = Object.keys(secret)[0]!;
  return input && typeof input === 'object' && (input as Record<string, unknown>)[sig] === secret[sig]
    ? (input as { value: unknown }).value
    : input;
}

export interface Deployment {
  resources: Captured[];
  outputs: Awaited<ReturnType<typeof resolveOutputs>>;
  invoked: string[];
}

const value = <T>(output: pulumi.Output<T> | undefined): Promise<T | undefined> =>
  new Promise((resolve) => (output === undefined ? resolve(undefined) : output.apply(resolve)));

async function resolveOutputs(outputs: StackOutputs) {
  return {
    url: await value(outputs.url),
    daemonJson: outputs.daemonJson,
    hostsToml: outputs.hostsToml,
    registriesConf: outputs.registriesConf,
    ciRoleArn: await value(outputs.ciRoleArn),
    imageRepositoryUrl: await value(outputs.imageRepositoryUrl),
    endpoint: await value(outputs.endpoint),
    instanceId: await value(outputs.instanceId),
  };
}

/** Stack configuration as `pulumi config set` would give it (strings), the secret keys set with --secret. */
export function stackConfig(values: Record<string, string>): StackConfig {
  return parseStackConfig({ values, secretKeys: new Set(['upstreamAccounts', 'signingKey']) });
}

/** A token signing key as `openssl ecparam -name prime256v1 -genkey | openssl pkcs8 -topk8 -nocrypt` prints it. */
export const SIGNING_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ format: 'pem', type: 'pkcs8' })
  .toString();

/** Deploys under fresh mocks and waits until every registration has been seen. */
export async function deploy(config: StackConfig, stack = 'prod'): Promise<Deployment> {
  const resources: Captured[] = [];
  const invoked: string[] = [];
  const options = new Map<string, pulumi.CustomResourceOptions>();
  const captureOptions: pulumi.ResourceTransformation = ({ type, name, opts }) => {
    options.set(`${type}::${name}`, opts);
    return undefined;
  };
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const inputs = args.inputs as Record<string, unknown>;
        resources.push({ type: args.type, name: args.name, inputs, opts: options.get(`${args.type}::${args.name}`) ?? {} });
        return { id: idOf(args.type, args.name), state: { ...inputs, ...computed(args.type, args.name, inputs) } };
      },
      call: (args) => {
        invoked.push(args.token);
        const answer = invokes[args.token];
        if (!answer) throw new Error(`no mock for ${args.token}`);
        return answer(args.inputs as Record<string, unknown>);
      },
    },
    'docxy',
    stack,
    false,
  );
  const outputs = await resolveOutputs(deployDocxy(config, stack, { transformations: [captureOptions] }));
  await pulumi.runtime.disconnect();
  return { resources, outputs, invoked };
}

export function ofType(deployment: Deployment, type: string): Captured[] {
  return deployment.resources.filter((r) => r.type === type);
}

export function one(deployment: Deployment, type: string, name?: string): Captured {
  const found = ofType(deployment, type).filter((r) => name === undefined || r.name === name);
  if (found.length !== 1)
    throw new Error(`expected one ${type}${name ? ` named ${name}` : ''}, found ${found.map((r) => r.name).join(', ') || 'none'}`);
  return found[0]!;
}
