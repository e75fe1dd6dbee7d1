import { afterAll, describe, expect, test } from '@jest/globals';
import * as pulumi from '@pulumi/pulumi';
import { parseStackConfig, readStackConfig } from '../src/config.js';
import { SIGNING_KEY } from './helpers/mocks.js';

const required = { domain: 'mirror.example.com', zoneId: 'Z0123456789ABC', image: 'registry.example.com/docxy:1' };
const parse = (values: Record<string, string>, secretKeys: string[] = []) => parseStackConfig({ values, secretKeys: new Set(secretKeys) });

describe('stack configuration', () => {
  test('defaults: fargate, open to everyone, one task of 0.5 vCPU / 1 GiB scaling to 3; ec2 on t4g.small with 50 GiB', () => {
    const config = parse(required);
    expect(config).toMatchObject({
      topology: 'fargate',
      domain: 'mirror.example.com',
      allowedCidrs: ['0.0.0.0/0'],
      upstreamAccounts: [],
      fargate: { desiredCount: 1, maxCount: 3, cpu: 512, memory: 1024, cacheExpiryDays: 30 },
      ec2: { instanceType: 't4g.small', dataVolumeGiB: 50, acmeStaging: false },
    });
    expect(config.ciRepository).toBeUndefined();
  });

  test.each([
    [{ domain: '' }, 'docxy:domain: required'],
    [{ zoneId: '' }, 'docxy:zoneId: required'],
    [{ image: '' }, 'docxy:image: required'],
    [{ topology: 'kubernetes' }, 'docxy:topology'],
    [{ domain: 'Mirror.Example.com' }, 'docxy:domain'],
    [{ image: 'docxy:1; curl evil' }, 'docxy:image'],
    [{ instanceType: 't3.small' }, 'Graviton'],
    [{ cpu: '256', memory: '4096' }, 'docxy:memory'],
    [{ cpu: '300' }, 'docxy:cpu: cpu 300 is not a Fargate size'],
    [{ desiredCount: '4', maxCount: '2' }, 'docxy:maxCount'],
    [{ desiredCount: '0' }, 'docxy:desiredCount'],
    [{ allowedCidrs: '["10.0.0.0/33"]' }, 'docxy:allowedCidrs'],
    [{ allowedCidrs: '[]' }, 'docxy:allowedCidrs'],
    [{ allowedCidrs: 'not json' }, 'docxy:allowedCidrs'],
    [{ subnetIds: '["subnet-0a1"]' }, 'vpcId and subnetIds together'],
    [{ acmeStaging: 'true', acmeDirectoryUrl: 'https://acme.example.com/dir' }, 'docxy:acmeStaging'],
    [{ ciRepository: 'not a repo' }, 'docxy:ciRepository'],
    [{ alarmEmail: 'ops' }, 'docxy:alarmEmail'],
  ])('refuses %j naming the key', (bad, message) => {
    expect(() => parse({ ...required, ...bad })).toThrow(message);
  });

  test('upstream accounts must be a stack secret and well formed, and need proxy mode', () => {
    const accounts = JSON.stringify([{ registry: 'docker.io', username: 'acme', password: 'pw' }]);
    expect(() => parse({ ...required, topology: 'ec2', upstreamAccounts: accounts }, ['upstreamAccounts'])).toThrow(
      'used only with authMode "proxy"',
    );
    const proxy = { ...required, topology: 'ec2', authMode: 'proxy' };
    expect(() => parse({ ...proxy, upstreamAccounts: accounts })).toThrow('must be set with --secret');
    expect(() =>
      parse({ ...required, upstreamAccounts: JSON.stringify([{ registry: 'docker.io', username: 'acme' }]) }, ['upstreamAccounts']),
    ).toThrow('docxy:upstreamAccounts[0]: password: required');
    expect(() =>
      parse({ ...required, upstreamAccounts: JSON.stringify([{ registry: 'Docker Hub', username: 'a', password: 'b' }]) }, [
        'upstreamAccounts',
      ]),
    ).toThrow('registry');
    const [account] = parse({ ...proxy, upstreamAccounts: accounts }, ['upstreamAccounts']).upstreamAccounts;
    expect(account).toMatchObject({ registry: 'docker.io', username: 'acme' });
  });

  test('proxy mode on fargate needs the shared signing key, as a secret PEM key; elsewhere it is refused', () => {
    const proxy = { ...required, authMode: 'proxy' };
    expect(() => parse(proxy)).toThrow('docxy:signingKey: required for authMode "proxy" on fargate');
    expect(() => parse({ ...proxy, signingKey: SIGNING_KEY })).toThrow('must be set with --secret');
    expect(() => parse({ ...proxy, signingKey: 'not a key' }, ['signingKey'])).toThrow('PEM');
    expect(() => parse({ ...required, signingKey: SIGNING_KEY }, ['signingKey'])).toThrow('used only with authMode "proxy" on fargate');
    expect(() => parse({ ...proxy, topology: 'ec2', signingKey: SIGNING_KEY }, ['signingKey'])).toThrow(
      'used only with authMode "proxy" on fargate',
    );
    expect(parse({ ...proxy, signingKey: SIGNING_KEY }, ['signingKey']).signingKey).toBeDefined();
    expect(() => parse({ ...required, authMode: 'ldap' })).toThrow('docxy:authMode');
  });
});

describe('readStackConfig', () => {
  afterAll(() => pulumi.runtime.setAllConfig({}, []));

  test("reads the stack's docxy:* values; account passwords stay secret outputs", async () => {
    pulumi.runtime.setAllConfig(
      {
        'docxy:domain': 'mirror.example.com',
        'docxy:zoneId': 'Z0123456789ABC',
        'docxy:image': 'registry.example.com/docxy:1',
        'docxy:topology': 'ec2',
        'docxy:dataVolumeGiB': '200',
        'docxy:authMode': 'proxy',
        'docxy:allowedCidrs': '["198.51.100.0/24"]',
        'docxy:upstreamAccounts': '[{"registry":"docker.io","username":"acme","password":"s3cret"}]',
      },
      ['docxy:upstreamAccounts'],
    );
    const config = readStackConfig();
    expect(config).toMatchObject({ topology: 'ec2', allowedCidrs: ['198.51.100.0/24'], ec2: { dataVolumeGiB: 200 } });
    const password = config.upstreamAccounts[0]!.password;
    expect(await pulumi.isSecret(password)).toBe(true);
    expect(await new Promise((resolve) => password.apply(resolve))).toBe('s3cret');
  });

  test('an account list set without --secret is refused', () => {
    pulumi.runtime.setAllConfig(
      { 'docxy:domain': 'm.example.com', 'docxy:zoneId': 'Z1', 'docxy:image': 'x/y:1', 'docxy:upstreamAccounts': '[]' },
      [],
    );
    expect(() => readStackConfig()).toThrow('--secret');
  });
});
