import { beforeAll, describe, expect, test } from '@jest/globals';
import {
  HEALTH_CHECKER_CIDRS,
  REGION,
  VOLUME_ID,
  deploy,
  one,
  ofType,
  plain,
  secretValue,
  stackConfig,
  type Deployment,
} from './helpers/mocks.js';

const PASSWORD = 'dckr_pat_NotARealToken0123456789';
const base = {
  topology: 'ec2',
  domain: 'mirror.example.com',
  zoneId: 'Z0123456789ABC',
  image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/docxy-images-repo:abc123',
  acmeEmail: 'ops@example.com',
  authMode: 'proxy',
  upstreamAccounts: JSON.stringify([{ registry: 'docker.io', username: 'acme', password: PASSWORD }]),
};

let d: Deployment;
let userData: string;
beforeAll(async () => {
  d = await deploy(stackConfig(base));
  userData = String(one(d, 'aws:ec2/instance:Instance').inputs.userData);
});

describe('ec2: host', () => {
  test('a Graviton instance on the ARM64 AMI, with a role for Session Manager and no SSH key', () => {
    const instance = one(d, 'aws:ec2/instance:Instance');
    expect(instance.inputs).toMatchObject({
      ami: 'ami-0arm64al2023',
      instanceType: 't4g.small',
      iamInstanceProfile: 'docxy-host',
      vpcSecurityGroupIds: ['docxy-host-id'],
      subnetId: 'subnet-0a',
      rootBlockDevice: { encrypted: true },
    });
    expect(instance.inputs.keyName).toBeUndefined();
    expect(d.invoked).toContain('aws:ec2/getAmi:getAmi');
    expect(one(d, 'aws:iam/rolePolicyAttachment:RolePolicyAttachment', 'docxy-host-ssm').inputs).toMatchObject({
      policyArn: 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore',
    });
  });

  test('IMDSv2 only, with a hop limit that lets the container reach the role', () => {
    expect(one(d, 'aws:ec2/instance:Instance').inputs.metadataOptions).toMatchObject({
      httpTokens: 'required',
      httpPutResponseHopLimit: 2,
    });
  });

  test('a new AMI release does not replace the host', () => {
    expect(one(d, 'aws:ec2/instance:Instance').opts.ignoreChanges).toEqual(['ami']);
  });

  test('open on 443 (clients) and 80 (ACME) only; no SSH', () => {
    const group = one(d, 'aws:ec2/securityGroup:SecurityGroup', 'docxy-host').inputs;
    expect(group.ingress).toEqual([
      expect.objectContaining({ protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'] }),
      expect.objectContaining({ protocol: 'tcp', fromPort: 80, toPort: 80, cidrBlocks: ['0.0.0.0/0'] }),
    ]);
  });

  test('an Elastic IP, and the domain is an A record to it', () => {
    expect(one(d, 'aws:ec2/eip:Eip').inputs).toMatchObject({ domain: 'vpc', instance: 'docxy-host-id' });
    expect(one(d, 'aws:route53/record:Record').inputs).toMatchObject({
      zoneId: 'Z0123456789ABC',
      name: 'mirror.example.com',
      type: 'A',
      records: ['198.51.100.7'],
    });
    expect(d.outputs.endpoint).toBe('198.51.100.7');
    expect(d.outputs.instanceId).toBe('docxy-host-id');
  });

  test('no load balancer, ECS or bucket', () => {
    for (const type of [
      'aws:lb/loadBalancer:LoadBalancer',
      'aws:ecs/service:Service',
      'aws:s3/bucket:Bucket',
      'aws:acm/certificate:Certificate',
    ])
      expect(ofType(d, type)).toEqual([]);
  });
});

describe('ec2: data volume', () => {
  test('separate, encrypted, in the host zone, kept when the stack or the host goes', () => {
    const volume = one(d, 'aws:ebs/volume:Volume');
    expect(volume.inputs).toMatchObject({ availabilityZone: `${REGION}a`, size: 50, type: 'gp3', encrypted: true });
    expect(volume.opts.retainOnDelete).toBe(true);
    const attachment = one(d, 'aws:ec2/volumeAttachment:VolumeAttachment');
    expect(attachment.inputs).toMatchObject({ instanceId: 'docxy-host-id', volumeId: VOLUME_ID, stopInstanceBeforeDetaching: true });
    // A replacement host gets the volume only after the old one let go of it.
    expect(attachment.opts.deleteBeforeReplace).toBe(true);
  });

  test('the boot script mounts it by UUID through fstab, owned by the container user', () => {
    expect(userData).toContain(`device=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${VOLUME_ID.replace('-', '')}`);
    expect(userData).toContain('blkid "$device" >/dev/null || mkfs.xfs');
    expect(userData).toMatch(/echo "UUID=\$uuid \/srv\/docxy xfs defaults,nofail 0 2" >> \/etc\/fstab/);
    expect(userData).toContain('chown 1000:1000 /srv/docxy/data');
    expect(userData).toContain('systemctl enable --now docxy.service docxy-update.timer');
  });
});

describe('ec2: image, config and secrets through SSM', () => {
  test('the image is an SSM parameter the host follows, not part of the host', () => {
    const parameter = one(d, 'aws:ssm/parameter:Parameter', 'docxy-image').inputs;
    expect(parameter).toMatchObject({ name: '/docxy/prod/image', type: 'String' });
    expect(plain(parameter.value)).toBe(base.image);
    expect(userData).not.toContain(base.image);
    expect(userData).toContain('DOCXY_PARAMETERS=/docxy/prod');
  });

  test('the config file: HTTPS on the published port with built-in ACME for the domain, cache sized to the volume', () => {
    const file = JSON.parse(String(plain(one(d, 'aws:ssm/parameter:Parameter', 'docxy-config').inputs.value)));
    expect(file).toEqual({
      listen: '0.0.0.0:8443',
      publicUrl: 'https://mirror.example.com',
      dataDir: '/data',
      auth: { mode: 'proxy' },
      cache: { store: 'fs', maxSize: '42GiB' },
      acme: { domains: ['mirror.example.com'], httpListen: '0.0.0.0:8080', email: 'ops@example.com' },
      registries: { 'docker.io': { accounts: [{ username: 'acme', passwordEnv: 'DOCXY_UPSTREAM_PASSWORD_0' }] } },
    });
    expect(userData).toContain('--publish 443:8443 --publish 80:8080');
  });

  test('passwords: SecureString parameters, read by the host at start, never in user data', () => {
    expect(one(d, 'aws:ssm/parameter:Parameter', 'docxy-secrets-0').inputs).toMatchObject({
      name: '/docxy/prod/upstream/0',
      type: 'SecureString',
      value: secretValue(PASSWORD),
    });
    expect(userData).not.toContain(PASSWORD);
    expect(userData).toContain('--with-decryption');
  });

  test('the host role reads only its own stack parameters and pulls only from the image repository', () => {
    const policy = JSON.parse(String(one(d, 'aws:iam/rolePolicy:RolePolicy', 'docxy-host-docxy').inputs.policy));
    const ssm = policy.Statement.find((s: { Action: string[] }) => s.Action.includes('ssm:GetParametersByPath'));
    expect(ssm.Resource).toEqual([
      `arn:aws:ssm:${REGION}:123456789012:parameter/docxy/prod`,
      `arn:aws:ssm:${REGION}:123456789012:parameter/docxy/prod/*`,
    ]);
    const pull = policy.Statement.find((s: { Action: string[] }) => s.Action.includes('ecr:BatchGetImage'));
    expect(pull.Resource).toContain('docxy-images-repo');
  });
});

describe('ec2: redeploys', () => {
  let next: Deployment;
  beforeAll(async () => {
    next = await deploy(stackConfig({ ...base, image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/docxy-images-repo:def456' }));
  });

  test('a new image changes the parameter, not the instance nor the volume', () => {
    expect(plain(one(next, 'aws:ssm/parameter:Parameter', 'docxy-image').inputs.value)).toMatch(/:def456$/);
    for (const type of ['aws:ec2/instance:Instance', 'aws:ebs/volume:Volume', 'aws:ec2/volumeAttachment:VolumeAttachment'])
      expect(one(next, type).inputs).toEqual(one(d, type).inputs);
  });
});

describe('ec2: narrowed client networks', () => {
  test('443 admits clients and Route 53 health checkers; 80 stays open for ACME challenges', async () => {
    const narrow = await deploy(stackConfig({ ...base, allowedCidrs: '["203.0.113.0/24"]' }), 'staging');
    expect(one(narrow, 'aws:ec2/securityGroup:SecurityGroup', 'docxy-host').inputs.ingress).toEqual([
      expect.objectContaining({ fromPort: 443, cidrBlocks: ['203.0.113.0/24', ...HEALTH_CHECKER_CIDRS] }),
      expect.objectContaining({ fromPort: 80, cidrBlocks: ['0.0.0.0/0'] }),
    ]);
  });
});
