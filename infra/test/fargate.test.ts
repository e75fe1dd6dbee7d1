import { beforeAll, describe, expect, test } from '@jest/globals';
import {
  HEALTH_CHECKER_CIDRS,
  REGION,
  SIGNING_KEY,
  VPC_CIDR,
  deploy,
  one,
  ofType,
  secretValue,
  stackConfig,
  type Deployment,
} from './helpers/mocks.js';

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/docxy-images-repo:abc123';
const PASSWORD = 'dckr_pat_NotARealToken0123456789';
const base = {
  domain: 'mirror.example.com',
  zoneId: 'Z0123456789ABC',
  image: IMAGE,
  authMode: 'proxy',
  upstreamAccounts: JSON.stringify([{ registry: 'docker.io', username: 'acme', password: PASSWORD }]),
  signingKey: SIGNING_KEY,
  ciRepository: 'acme/docxy',
  alarmEmail: 'ops@example.com',
};

interface Container {
  image: string;
  entryPoint: string[];
  command: string[];
  portMappings: Array<{ containerPort: number }>;
  environment: Array<{ name: string; value: string }>;
  secrets: Array<{ name: string; valueFrom: string }>;
  stopTimeout: number;
  logConfiguration: { logDriver: string; options: Record<string, string> };
}

let d: Deployment;
let container: Container;
let env: Record<string, string>;
beforeAll(async () => {
  d = await deploy(stackConfig(base));
  const definitions = JSON.parse(String(one(d, 'aws:ecs/taskDefinition:TaskDefinition').inputs.containerDefinitions)) as Container[];
  expect(definitions).toHaveLength(1);
  container = definitions[0]!;
  env = Object.fromEntries(container.environment.map((e) => [e.name, e.value]));
});

describe('fargate: load balancer', () => {
  test('HTTPS on 443 with the DNS-validated ACM certificate, forwarding to the tasks', () => {
    const cert = one(d, 'aws:acm/certificate:Certificate');
    expect(cert.inputs).toMatchObject({ domainName: 'mirror.example.com', validationMethod: 'DNS' });
    expect(one(d, 'aws:route53/record:Record', 'docxy-cert-validation').inputs).toMatchObject({
      zoneId: 'Z0123456789ABC',
      name: '_abc.mirror.example.com.',
      type: 'CNAME',
      records: ['_xyz.acm-validations.aws.'],
    });
    const validated = one(d, 'aws:acm/certificateValidation:CertificateValidation');
    expect(validated.inputs).toMatchObject({ validationRecordFqdns: ['_abc.mirror.example.com'] });
    const https = one(d, 'aws:lb/listener:Listener', 'docxy-https').inputs;
    expect(https).toMatchObject({ port: 443, protocol: 'HTTPS', certificateArn: validated.inputs.certificateArn });
    expect(https.sslPolicy).toMatch(/TLS13/);
    expect(https.defaultActions).toEqual([
      expect.objectContaining({ type: 'forward', targetGroupArn: expect.stringContaining('docxy-tasks') }),
    ]);
  });

  test('port 80 only redirects to HTTPS', () => {
    expect(one(d, 'aws:lb/listener:Listener', 'docxy-http').inputs).toMatchObject({
      port: 80,
      protocol: 'HTTP',
      defaultActions: [{ type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } }],
    });
  });

  test('target group checks /healthz over plain HTTP on the mirror port', () => {
    expect(one(d, 'aws:lb/targetGroup:TargetGroup').inputs).toMatchObject({
      port: 5000,
      protocol: 'HTTP',
      targetType: 'ip',
      healthCheck: { path: '/healthz', matcher: '200' },
    });
  });

  test('the internet reaches the ALB on 80/443 only; tasks only from the ALB group', () => {
    const alb = one(d, 'aws:ec2/securityGroup:SecurityGroup', 'docxy-alb').inputs;
    expect(alb.ingress).toEqual([
      expect.objectContaining({ protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'] }),
      expect.objectContaining({ protocol: 'tcp', fromPort: 80, toPort: 80, cidrBlocks: ['0.0.0.0/0'] }),
    ]);
    expect(alb.egress).toEqual([expect.objectContaining({ fromPort: 5000, toPort: 5000, cidrBlocks: [VPC_CIDR] })]);
    const tasks = one(d, 'aws:ec2/securityGroup:SecurityGroup', 'docxy-tasks').inputs;
    expect(tasks.ingress).toEqual([
      { protocol: 'tcp', fromPort: 5000, toPort: 5000, securityGroups: ['docxy-alb-id'], description: 'from the load balancer' },
    ]);
    const service = one(d, 'aws:ecs/service:Service').inputs;
    expect(service.networkConfiguration).toMatchObject({ securityGroups: ['docxy-tasks-id'], subnets: ['subnet-0a', 'subnet-0b'] });
  });
});

describe('fargate: cache bucket', () => {
  test('encrypted, public access blocked, ACLs off, TLS only, blobs expire', () => {
    const bucket = one(d, 'aws:s3/bucket:Bucket');
    const id = `${bucket.name}-id`;
    expect(one(d, 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration').inputs).toMatchObject({
      bucket: id,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
    });
    expect(one(d, 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock').inputs).toEqual({
      bucket: id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(one(d, 'aws:s3/bucketOwnershipControls:BucketOwnershipControls').inputs).toMatchObject({
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    const policy = JSON.parse(String(one(d, 'aws:s3/bucketPolicy:BucketPolicy').inputs.policy));
    expect(policy.Statement).toEqual([
      expect.objectContaining({ Effect: 'Deny', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]);
    const lifecycle = one(d, 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration').inputs;
    expect(lifecycle.rules).toContainEqual(
      expect.objectContaining({ filter: { prefix: 'blobs/' }, expiration: { days: 30 }, status: 'Enabled' }),
    );
  });

  test('the task role may touch this bucket and nothing else', () => {
    const policy = JSON.parse(String(one(d, 'aws:iam/rolePolicy:RolePolicy', 'docxy-task-cache').inputs.policy));
    const resources = policy.Statement.flatMap((s: { Resource: string | string[] }) => [s.Resource].flat());
    expect(resources.sort()).toEqual(['arn:aws:s3:::docxy-cache-bucket', 'arn:aws:s3:::docxy-cache-bucket/*']);
    expect(policy.Statement.flatMap((s: { Action: string[] }) => s.Action)).not.toContain('s3:*');
  });
});

describe('fargate: task and service', () => {
  test('the configured image runs on ARM64 as an S3-backed mirror with presigned redirects', () => {
    const task = one(d, 'aws:ecs/taskDefinition:TaskDefinition').inputs;
    expect(task).toMatchObject({
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: '512',
      memory: '1024',
      runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
    });
    expect(container.image).toBe(IMAGE);
    expect(container.portMappings).toEqual([{ containerPort: 5000, protocol: 'tcp' }]);
    expect(env).toMatchObject({
      DOCXY_LISTEN: '0.0.0.0:5000',
      DOCXY_PUBLIC_URL: 'https://mirror.example.com',
      DOCXY_CACHE_STORE: 's3',
      DOCXY_S3_BUCKET: 'docxy-cache-bucket',
      DOCXY_S3_REGION: REGION,
      DOCXY_CONFIG: '/tmp/docxy.yml',
    });
    // The wrapper writes the inline config to DOCXY_CONFIG's path (and the key where the config
    // names it), then execs node (PID 1 gets SIGTERM). test/mirror-contract.test.ts runs it.
    expect(container.entryPoint).toEqual(['/bin/sh', '-c']);
    expect(container.command).toEqual([
      expect.stringMatching(/^umask 077 && printf '%s' "\$DOCXY_CONFIG_YAML" > \/tmp\/docxy\.yml && .* && exec node \S+main\.js serve$/),
    ]);
    expect(container.command[0]).toContain('> /tmp/docxy-signing-key.pem && unset DOCXY_SIGNING_KEY_PEM');
    const file = JSON.parse(env.DOCXY_CONFIG_YAML!);
    expect(file).toEqual({
      auth: { mode: 'proxy', signingKey: '/tmp/docxy-signing-key.pem' },
      cache: { redirect: true },
      access: { trustedProxies: [VPC_CIDR] },
      registries: { 'docker.io': { accounts: [{ username: 'acme', passwordEnv: 'DOCXY_UPSTREAM_PASSWORD_0' }] } },
    });
    expect(container.stopTimeout).toBeGreaterThan(30);
  });

  test('upstream passwords and the shared signing key reach the task as SSM secrets, never in plain text', () => {
    // The values reach the engine marked secret (encrypted in state).
    expect(one(d, 'aws:ssm/parameter:Parameter', 'docxy-secrets-0').inputs).toMatchObject({
      name: '/docxy/prod/upstream/0',
      type: 'SecureString',
      value: secretValue(PASSWORD),
    });
    expect(one(d, 'aws:ssm/parameter:Parameter', 'docxy-secrets-signing-key').inputs).toMatchObject({
      name: '/docxy/prod/signing-key',
      type: 'SecureString',
      value: secretValue(SIGNING_KEY),
    });
    const arn = (name: string) => `arn:aws:ssm:eu-west-1:123456789012:parameter/docxy/prod/${name}`;
    expect(container.secrets).toEqual([
      { name: 'DOCXY_UPSTREAM_PASSWORD_0', valueFrom: arn('upstream/0') },
      { name: 'DOCXY_SIGNING_KEY_PEM', valueFrom: arn('signing-key') },
    ]);
    const definition = JSON.stringify(one(d, 'aws:ecs/taskDefinition:TaskDefinition').inputs);
    expect(definition).not.toContain(PASSWORD);
    expect(definition).not.toContain('PRIVATE KEY');
    const execution = JSON.parse(String(one(d, 'aws:iam/rolePolicy:RolePolicy', 'docxy-execution-secrets').inputs.policy));
    expect(execution.Statement).toEqual([
      { Effect: 'Allow', Action: ['ssm:GetParameters'], Resource: [arn('upstream/0'), arn('signing-key')] },
    ]);
  });

  test('logs go to a log group with retention', () => {
    expect(one(d, 'aws:cloudwatch/logGroup:LogGroup').inputs).toMatchObject({ retentionInDays: 30 });
    expect(container.logConfiguration).toMatchObject({
      logDriver: 'awslogs',
      options: { 'awslogs-group': 'docxy-logs', 'awslogs-region': REGION },
    });
  });

  test('service: desired count, circuit breaker with rollback, behind the target group; CPU autoscaling', () => {
    expect(one(d, 'aws:ecs/service:Service').inputs).toMatchObject({
      launchType: 'FARGATE',
      desiredCount: 1,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      loadBalancers: [{ containerName: 'docxy', containerPort: 5000, targetGroupArn: expect.stringContaining('docxy-tasks') }],
      networkConfiguration: { assignPublicIp: true },
    });
    expect(one(d, 'aws:appautoscaling/target:Target').inputs).toMatchObject({
      minCapacity: 1,
      maxCapacity: 3,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: 'service/docxy-cluster/docxy-service',
    });
    expect(one(d, 'aws:appautoscaling/policy:Policy').inputs).toMatchObject({
      policyType: 'TargetTrackingScaling',
      targetTrackingScalingPolicyConfiguration: {
        predefinedMetricSpecification: { predefinedMetricType: 'ECSServiceAverageCPUUtilization' },
      },
    });
  });

  test('ECR repository scans on push and keeps the last images', () => {
    expect(one(d, 'aws:ecr/repository:Repository').inputs).toMatchObject({ imageScanningConfiguration: { scanOnPush: true } });
    const policy = JSON.parse(String(one(d, 'aws:ecr/lifecyclePolicy:LifecyclePolicy').inputs.policy));
    expect(policy.rules[0].selection).toMatchObject({ countType: 'imageCountMoreThan', countNumber: 30 });
  });
});

describe('fargate: DNS, health, CI and outputs', () => {
  test('alias record for the domain to the ALB; HTTPS health check on /healthz with a us-east-1 alarm', () => {
    expect(one(d, 'aws:route53/record:Record', 'docxy-record').inputs).toMatchObject({
      zoneId: 'Z0123456789ABC',
      name: 'mirror.example.com',
      type: 'A',
      aliases: [{ name: `docxy-alb-1234.${REGION}.elb.amazonaws.com`, zoneId: 'Z32O12XQLNTSW2', evaluateTargetHealth: true }],
    });
    expect(one(d, 'aws:route53/healthCheck:HealthCheck').inputs).toMatchObject({
      type: 'HTTPS',
      fqdn: 'mirror.example.com',
      port: 443,
      resourcePath: '/healthz',
    });
    const topic = one(d, 'aws:sns/topic:Topic');
    expect(topic.inputs).toMatchObject({ region: 'us-east-1' });
    expect(one(d, 'aws:cloudwatch/metricAlarm:MetricAlarm').inputs).toMatchObject({
      region: 'us-east-1',
      namespace: 'AWS/Route53',
      metricName: 'HealthCheckStatus',
      dimensions: { HealthCheckId: 'docxy-health-id' },
      alarmActions: [expect.stringContaining('docxy-alarms')],
    });
    expect(one(d, 'aws:sns/topicSubscription:TopicSubscription').inputs).toMatchObject({
      region: 'us-east-1',
      protocol: 'email',
      endpoint: 'ops@example.com',
    });
  });

  test('the CI role trusts only the repository main branch through GitHub OIDC', () => {
    expect(one(d, 'aws:iam/openIdConnectProvider:OpenIdConnectProvider').inputs).toMatchObject({
      url: 'https://token.actions.githubusercontent.com',
      clientIdLists: ['sts.amazonaws.com'],
    });
    const trust = JSON.parse(String(one(d, 'aws:iam/role:Role', 'docxy-ci-role').inputs.assumeRolePolicy));
    expect(trust.Statement).toEqual([
      expect.objectContaining({
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
            'token.actions.githubusercontent.com:sub': 'repo:acme/docxy:ref:refs/heads/main',
          },
        },
      }),
    ]);
  });

  test('outputs: url, client snippets for the domain, CI role, image repository', () => {
    expect(d.outputs.url).toBe('https://mirror.example.com');
    expect(JSON.parse(d.outputs.daemonJson)).toEqual({ 'registry-mirrors': ['https://mirror.example.com'] });
    expect(d.outputs.hostsToml).toContain('[host."https://mirror.example.com"]');
    expect(d.outputs.registriesConf).toContain('location = "mirror.example.com"');
    expect(d.outputs.ciRoleArn).toContain('docxy-ci-role');
    expect(d.outputs.imageRepositoryUrl).toMatch(/\.dkr\.ecr\.eu-west-1\.amazonaws\.com\//);
    expect(ofType(d, 'aws:ec2/instance:Instance')).toEqual([]);
  });
});

describe('fargate: narrowed client networks', () => {
  let narrow: Deployment;
  beforeAll(async () => {
    narrow = await deploy(
      stackConfig({ ...base, authMode: '', upstreamAccounts: '', signingKey: '', alarmEmail: '', allowedCidrs: '["203.0.113.0/24"]' }),
      'staging',
    );
  });

  test('443 admits the clients and the Route 53 health checkers; 80 the clients only', () => {
    const alb = one(narrow, 'aws:ec2/securityGroup:SecurityGroup', 'docxy-alb').inputs;
    expect(alb.ingress).toEqual([
      expect.objectContaining({ fromPort: 443, cidrBlocks: ['203.0.113.0/24', ...HEALTH_CHECKER_CIDRS] }),
      expect.objectContaining({ fromPort: 80, cidrBlocks: ['203.0.113.0/24'] }),
    ]);
    expect(narrow.invoked).toContain('aws:index/getIpRanges:getIpRanges');
  });

  test('passthrough: no secrets, no auth or registries block; no email: no subscription', () => {
    expect(ofType(narrow, 'aws:ssm/parameter:Parameter')).toEqual([]);
    const [definition] = JSON.parse(
      String(one(narrow, 'aws:ecs/taskDefinition:TaskDefinition').inputs.containerDefinitions),
    ) as Container[];
    expect(definition!.secrets).toEqual([]);
    const file = JSON.parse(definition!.environment.find((e) => e.name === 'DOCXY_CONFIG_YAML')!.value);
    expect(file.registries).toBeUndefined();
    expect(file.auth).toBeUndefined();
    expect(ofType(narrow, 'aws:sns/topicSubscription:TopicSubscription')).toEqual([]);
    expect(ofType(narrow, 'aws:iam/rolePolicy:RolePolicy').map((r) => r.name)).not.toContain('docxy-execution-secrets');
  });
});
