import { beforeAll, describe, expect, test } from '@jest/globals';
import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from '@pulumi/policy';
import {
  TYPES,
  bucketsEncrypted,
  bucketsPrivate,
  imdsV2Required,
  ingressWebPortsOnly,
  noPlaintextSecrets,
  noPublicBucket,
  resourcePolicies,
  stackPolicies,
  storageEncrypted,
} from '../policy/policies.js';
import { type Captured, SIGNING_KEY, deploy, plain, stackConfig } from './helpers/mocks.js';

// Policies are called directly (the pack's entry would start the analyzer's server), with
// arguments shaped as the analyzer builds them, as pulumi-policy-aws's tests do.

function unwrapSecrets(value: unknown): unknown {
  const inner = plain(value);
  if (Array.isArray(inner)) return inner.map(unwrapSecrets);
  if (inner && typeof inner === 'object') return Object.fromEntries(Object.entries(inner).map(([k, v]) => [k, unwrapSecrets(v)]));
  return inner;
}

function resource(type: string, props: Record<string, unknown>, name = 'subject'): PolicyResource {
  return {
    type,
    props,
    name,
    urn: `urn:pulumi:test::docxy::${type}::${name}`,
    opts: {} as PolicyResource['opts'],
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  } as PolicyResource;
}

function violationsOf(policy: ResourceValidationPolicy, r: PolicyResource): string[] {
  const found: string[] = [];
  const args = { ...r, stackTags: new Map(), getConfig: () => ({}), notApplicable: () => undefined } as unknown as ResourceValidationArgs;
  for (const validate of [policy.validateResource ?? []].flat()) validate(args, (message) => found.push(message));
  return found;
}

function stackViolationsOf(policy: StackValidationPolicy, resources: PolicyResource[]): string[] {
  const found: string[] = [];
  policy.validateStack({ resources, stackTags: new Map(), getConfig: () => ({}) } as unknown as StackValidationArgs, (message) =>
    found.push(message),
  );
  return found;
}

/** The program's resources as the analyzer sees them: secrets unwrapped, `bucket` inputs linked to their bucket. */
function asPolicyResources(captured: Captured[]): PolicyResource[] {
  const resources = captured.map((c) => resource(c.type, unwrapSecrets(c.inputs) as Record<string, unknown>, c.name));
  const buckets = new Map(resources.filter((r) => r.type === TYPES.bucket).map((r) => [`${r.name}-id`, r]));
  for (const r of resources) {
    const bucket = buckets.get(String(r.props.bucket));
    if (bucket) r.propertyDependencies = { bucket: [bucket] };
  }
  return resources;
}

const base = {
  domain: 'mirror.example.com',
  zoneId: 'Z0123456789ABC',
  image: 'registry.example.com/docxy:1',
  acmeEmail: 'ops@example.com',
};
const accounts = JSON.stringify([{ registry: 'docker.io', username: 'acme', password: 'dckr_pat_NotARealToken0123456789' }]);
let fargate: PolicyResource[];
let ec2: PolicyResource[];
beforeAll(async () => {
  fargate = asPolicyResources(
    (
      await deploy(
        stackConfig({ ...base, authMode: 'proxy', upstreamAccounts: accounts, signingKey: SIGNING_KEY, ciRepository: 'acme/docxy' }),
      )
    ).resources,
  );
  ec2 = asPolicyResources(
    (
      await deploy(
        stackConfig({ ...base, topology: 'ec2', authMode: 'proxy', upstreamAccounts: accounts, allowedCidrs: '["203.0.113.0/24"]' }),
      )
    ).resources,
  );
});

const find = (resources: PolicyResource[], type: string, name?: string): PolicyResource => {
  const r = resources.find((x) => x.type === type && (name === undefined || x.name === name));
  if (!r) throw new Error(`no ${type}`);
  return r;
};

describe("the program's own resources pass every policy", () => {
  test.each([
    ['fargate', () => fargate],
    ['ec2', () => ec2],
  ])('%s', (_, resources) => {
    const all = resources();
    expect(all.length).toBeGreaterThan(20);
    const found = all.flatMap((r) => resourcePolicies.flatMap((p) => violationsOf(p, r).map((m) => `${p.name} ${r.type} ${r.name}: ${m}`)));
    expect(found).toEqual([]);
    expect(stackPolicies.flatMap((p) => stackViolationsOf(p, all))).toEqual([]);
  });

  test('the policies do look at the program (its resources are of the types they check)', () => {
    const types = new Set([...fargate, ...ec2].map((r) => r.type));
    for (const type of [
      TYPES.securityGroup,
      TYPES.volume,
      TYPES.instance,
      TYPES.bucket,
      TYPES.bucketSse,
      TYPES.bucketPublicAccess,
      TYPES.bucketPolicy,
      TYPES.taskDefinition,
    ])
      expect(types).toContain(type);
  });
});

describe('ingress: only TCP 80/443 from addresses', () => {
  test.each([
    [
      'SSH added to the host group',
      () => ({
        ...find(ec2, TYPES.securityGroup).props,
        ingress: [
          ...(find(ec2, TYPES.securityGroup).props.ingress as object[]),
          { protocol: 'tcp', fromPort: 22, toPort: 22, cidrBlocks: ['0.0.0.0/0'] },
        ],
      }),
    ],
    ['all traffic', () => ({ ingress: [{ protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0'] }] })],
    ['a port range spanning 80-443', () => ({ ingress: [{ protocol: 'tcp', fromPort: 80, toPort: 443, cidrBlocks: ['0.0.0.0/0'] }] })],
    ['the task port from the internet', () => ({ ingress: [{ protocol: 'tcp', fromPort: 5000, toPort: 5000, ipv6CidrBlocks: ['::/0'] }] })],
  ])('rejects a security group with %s', (_, props) => {
    expect(violationsOf(ingressWebPortsOnly, resource(TYPES.securityGroup, props()))).toHaveLength(1);
  });

  test('rejects stand-alone rules too', () => {
    expect(
      violationsOf(
        ingressWebPortsOnly,
        resource(TYPES.securityGroupRule, { type: 'ingress', protocol: 'tcp', fromPort: 8080, toPort: 8080, cidrBlocks: ['0.0.0.0/0'] }),
      ),
    ).toHaveLength(1);
    expect(
      violationsOf(
        ingressWebPortsOnly,
        resource(TYPES.ingressRule, { ipProtocol: 'tcp', fromPort: 3389, toPort: 3389, cidrIpv4: '0.0.0.0/0' }),
      ),
    ).toHaveLength(1);
  });

  test('a rule from another security group is not internet ingress', () => {
    expect(
      violationsOf(
        ingressWebPortsOnly,
        resource(TYPES.securityGroup, { ingress: [{ protocol: 'tcp', fromPort: 5000, toPort: 5000, securityGroups: ['sg-1'] }] }),
      ),
    ).toEqual([]);
  });
});

describe('storage: encrypted', () => {
  test('rejects an unencrypted volume, root device, extra device, or a bucket without real SSE', () => {
    expect(violationsOf(storageEncrypted, resource(TYPES.volume, { ...find(ec2, TYPES.volume).props, encrypted: false }))).toHaveLength(1);
    const instance = find(ec2, TYPES.instance).props;
    expect(violationsOf(storageEncrypted, resource(TYPES.instance, { ...instance, rootBlockDevice: { volumeSize: 20 } }))).toHaveLength(1);
    expect(
      violationsOf(storageEncrypted, resource(TYPES.instance, { ...instance, ebsBlockDevices: [{ deviceName: '/dev/sdg' }] })),
    ).toHaveLength(1);
    expect(
      violationsOf(
        storageEncrypted,
        resource(TYPES.bucketSse, { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'none' } }] }),
      ),
    ).toHaveLength(1);
  });

  test('rejects a bucket with no encryption configuration attached', () => {
    const withoutSse = fargate.filter((r) => r.type !== TYPES.bucketSse);
    expect(stackViolationsOf(bucketsEncrypted, withoutSse)).toEqual([expect.stringContaining('docxy-cache')]);
  });
});

describe('buckets: never public', () => {
  test('rejects public ACLs, a relaxed public-access block, a policy allowing everyone', () => {
    expect(violationsOf(noPublicBucket, resource(TYPES.bucket, { acl: 'public-read' }))).toHaveLength(1);
    expect(violationsOf(noPublicBucket, resource(TYPES.bucketAcl, { acl: 'public-read-write' }))).toHaveLength(1);
    expect(
      violationsOf(
        noPublicBucket,
        resource(TYPES.bucketPublicAccess, { ...find(fargate, TYPES.bucketPublicAccess).props, blockPublicPolicy: false }),
      ),
    ).toHaveLength(1);
    const allow = (Principal: unknown) =>
      JSON.stringify({ Statement: [{ Effect: 'Allow', Principal, Action: 's3:GetObject', Resource: '*' }] });
    expect(violationsOf(noPublicBucket, resource(TYPES.bucketPolicy, { policy: allow('*') }))).toHaveLength(1);
    expect(violationsOf(noPublicBucket, resource(TYPES.bucketPolicy, { policy: allow({ AWS: ['*'] }) }))).toHaveLength(1);
  });

  test('rejects a bucket with no public-access block', () => {
    expect(stackViolationsOf(bucketsPrivate, [resource(TYPES.bucket, {}, 'loose')])).toEqual([expect.stringContaining('loose')]);
  });
});

describe('secrets: never in plain text', () => {
  type Container = { environment: Array<{ name: string; value: string }>; secrets: Array<{ name: string }> };
  const withContainer = (change: (c: Container) => void): PolicyResource => {
    const task = find(fargate, TYPES.taskDefinition);
    const containers = JSON.parse(String(task.props.containerDefinitions)) as Container[];
    change(containers[0]!);
    return resource(TYPES.taskDefinition, { ...task.props, containerDefinitions: JSON.stringify(containers) });
  };

  test.each([
    [
      'the upstream password moved from secrets to environment',
      (c: Container) => c.environment.push({ name: 'DOCXY_UPSTREAM_PASSWORD_0', value: 'x1y2z3' }),
    ],
    [
      'a token under an innocent name',
      (c: Container) => c.environment.push({ name: 'DOCXY_EXTRA', value: 'dckr_pat_abcdefghij0123456789' }),
    ],
    [
      'a password inside the inline config',
      (c: Container) =>
        c.environment.push({
          name: 'DOCXY_CONFIG_YAML',
          value: '{"registries":{"docker.io":{"accounts":[{"username":"a","password":"hunter22"}]}}}',
        }),
    ],
  ])('rejects a task definition with %s', (_, change) => {
    expect(violationsOf(noPlaintextSecrets, withContainer(change))).toHaveLength(1);
  });

  test.each([
    ['an exported token', 'export DOCKERHUB_TOKEN=abcdef123456\n'],
    ['an AWS access key', 'aws configure set aws_access_key_id AKIAABCDEFGHIJKLMNOP\n'],
    ['a password in a config file', 'cat > /etc/docxy/config.yml <<EOF\npassword: hunter22\nEOF\n'],
  ])('rejects user data with %s', (_, extra) => {
    const instance = find(ec2, TYPES.instance).props;
    expect(
      violationsOf(noPlaintextSecrets, resource(TYPES.instance, { ...instance, userData: `${instance.userData}${extra}` })),
    ).toHaveLength(1);
    expect(
      violationsOf(
        noPlaintextSecrets,
        resource(TYPES.instance, { ...instance, userData: undefined, userDataBase64: Buffer.from(extra).toString('base64') }),
      ),
    ).toHaveLength(1);
    expect(
      violationsOf(noPlaintextSecrets, resource(TYPES.launchTemplate, { userData: Buffer.from(extra).toString('base64') })),
    ).toHaveLength(1);
  });
});

describe('instances: IMDSv2', () => {
  test('rejects optional tokens or no metadata options', () => {
    const instance = find(ec2, TYPES.instance).props;
    expect(
      violationsOf(imdsV2Required, resource(TYPES.instance, { ...instance, metadataOptions: { httpTokens: 'optional' } })),
    ).toHaveLength(1);
    expect(violationsOf(imdsV2Required, resource(TYPES.instance, { ...instance, metadataOptions: undefined }))).toHaveLength(1);
    expect(violationsOf(imdsV2Required, resource(TYPES.launchTemplate, {}))).toHaveLength(1);
  });
});
