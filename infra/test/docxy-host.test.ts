import { beforeAll, describe, expect, test } from '@jest/globals';
import * as pulumi from '@pulumi/pulumi';
import { planHost } from '../src/plan.js';

interface Created {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const created: Created[] = [];

beforeAll(() => {
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        created.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
        const state = { ...args.inputs, ...(args.type === 'aws:ec2/eip:Eip' ? { publicIp: '203.0.113.10' } : {}) };
        return { id: `${args.name}-id`, state };
      },
      call: (args) => (args.token === 'aws:ec2/getAmi:getAmi' ? { id: 'ami-123', ...args.inputs } : args.inputs),
    },
    'docxy',
    'test',
    false,
  );
});

const output = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve) => o.apply(resolve));

describe('DocxyHost', () => {
  test('creates its own security group, host, IP, DNS record and health check', async () => {
    const { DocxyHost } = await import('../src/docxy-host.js');
    const host = new DocxyHost('mirror', {
      image: 'ghcr.io/acme/docxy:1.0',
      domain: 'mirror.example.com',
      zoneId: 'Z123',
      allowedCidrs: ['198.51.100.0/24'],
    });
    expect(await output(host.url)).toBe('https://mirror.example.com');
    expect(await output(host.publicIp)).toBe('203.0.113.10');
    expect(await output(host.dnsRecordName)).toBe('mirror.example.com');
    const byType = (type: string): Created => {
      const found = created.find((c) => c.type === type);
      if (!found) throw new Error(`no ${type} among ${created.map((c) => c.type).join(', ')}`);
      return found;
    };
    const sg = byType('aws:ec2/securityGroup:SecurityGroup');
    expect(sg.name).toBe('mirror-sg');
    expect(sg.inputs.ingress).toEqual([
      { protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['198.51.100.0/24'], description: 'registry clients' },
    ]);
    const instance = byType('aws:ec2/instance:Instance');
    expect(instance.inputs).toMatchObject({
      ami: 'ami-123',
      instanceType: 't3.medium',
      vpcSecurityGroupIds: ['mirror-sg-id'],
      metadataOptions: { httpTokens: 'required' },
    });
    expect(instance.inputs.userData).toContain('ghcr.io/acme/docxy:1.0');
    expect(instance.inputs.userData).toContain('DOCXY_PUBLIC_URL=https://mirror.example.com');
    expect(byType('aws:route53/record:Record').inputs).toMatchObject({
      zoneId: 'Z123',
      name: 'mirror.example.com',
      type: 'A',
      records: ['203.0.113.10'],
    });
    expect(byType('aws:route53/healthCheck:HealthCheck').inputs).toMatchObject({
      fqdn: 'mirror.example.com',
      type: 'HTTPS',
      resourcePath: '/healthz',
      port: 443,
    });
  });
});

describe('planHost', () => {
  const base = { image: 'docxy:1', domain: 'm.example.com', port: 5000, dataVolumeGiB: 50, allowedCidrs: ['0.0.0.0/0'] };
  test('maps the public port to the container and sets the public URL', () => {
    const plan = planHost(base);
    expect(plan.userData).toContain('-p 443:5000');
    expect(plan.userData).toContain('-e DOCXY_DATA_DIR=/data');
    expect(plan.healthCheckPath).toBe('/healthz');
  });
  test.each([
    [{ image: 'x; rm -rf /' }, 'image'],
    [{ domain: 'a.com$(id)' }, 'domain'],
    [{ port: 0 }, 'port'],
    [{ allowedCidrs: [] }, 'allowedCidrs'],
  ])('refuses %j', (bad, key) => {
    expect(() => planHost({ ...base, ...bad })).toThrow(key);
  });
});
