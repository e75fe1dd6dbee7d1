import { describe, expect, test } from '@jest/globals';
import { ec2MirrorConfig, fargateMirror } from '../src/mirror-contract.js';
import { bootScript, hostEnv, units } from '../src/plan/ec2-host.js';
import { planIngress } from '../src/plan/ingress.js';
import { githubMainSubject, parameterPath, upstreamSecretName } from '../src/plan/names.js';
import { cacheMaxSizeFor, fargateSize } from '../src/plan/sizes.js';
import { daemonJson, hostsToml, registriesConf } from '../src/plan/snippets.js';

describe('client snippets', () => {
  test('daemon.json, hosts.toml and registries.conf name the mirror over HTTPS', () => {
    expect(JSON.parse(daemonJson('m.example.com'))).toEqual({ 'registry-mirrors': ['https://m.example.com'] });
    expect(hostsToml('m.example.com')).toBe(
      'server = "https://registry-1.docker.io"\n\n[host."https://m.example.com"]\n  capabilities = ["pull", "resolve"]\n',
    );
    expect(registriesConf('m.example.com')).toBe(
      '[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n\n[[registry.mirror]]\nlocation = "m.example.com"\n',
    );
  });
});

describe('sizes', () => {
  test('Fargate CPU/memory pairs', () => {
    expect(fargateSize(256, 512)).toEqual({ cpu: 256, memory: 512 });
    expect(fargateSize(256, 1536)).toMatch(/does not fit/);
    expect(fargateSize(1024, 3072)).toEqual({ cpu: 1024, memory: 3072 });
    expect(fargateSize(1024, 1024)).toMatch(/does not fit/);
    expect(fargateSize(768, 2048)).toMatch(/not a Fargate size/);
  });

  test('the EC2 cache leaves room on its volume', () => {
    expect(cacheMaxSizeFor(50)).toBe('42GiB');
    expect(cacheMaxSizeFor(1000)).toBe('850GiB');
  });
});

describe('ingress', () => {
  test('open: 443 and 80 from everyone; ACME keeps 80 open whatever the clients', () => {
    expect(
      planIngress({ allowedCidrs: ['0.0.0.0/0'], healthCheckerCidrs: ['15.177.0.0/18'], port80FromEveryone: false }).map((r) => [
        r.fromPort,
        r.cidrBlocks,
      ]),
    ).toEqual([
      [443, ['0.0.0.0/0']],
      [80, ['0.0.0.0/0']],
    ]);
    expect(planIngress({ allowedCidrs: ['10.1.0.0/16'], healthCheckerCidrs: [], port80FromEveryone: true })[1]!.cidrBlocks).toEqual([
      '0.0.0.0/0',
    ]);
  });

  test('a security group has room for 60 CIDRs at most', () => {
    const many = Array.from({ length: 40 }, (_, i) => `10.${i}.0.0/16`);
    expect(() => planIngress({ allowedCidrs: many, healthCheckerCidrs: [], port80FromEveryone: false })).toThrow('too many CIDRs');
  });
});

describe('names', () => {
  test('SSM names under one path per stack; the CI subject is the main branch', () => {
    expect(parameterPath('prod')).toBe('/docxy/prod');
    expect(upstreamSecretName('/docxy/prod', 2)).toBe('/docxy/prod/upstream/2');
    expect(() => parameterPath('a b')).toThrow('stack name');
    expect(githubMainSubject('acme/docxy')).toBe('repo:acme/docxy:ref:refs/heads/main');
  });
});

describe('mirror contract', () => {
  const accounts = [
    { registry: 'docker.io', username: 'a' },
    { registry: 'ghcr.io', username: 'b' },
    { registry: 'docker.io', username: 'c' },
  ];

  test('accounts are grouped per registry, each password named by its own variable', () => {
    const file = JSON.parse(
      ec2MirrorConfig({ domain: 'm.example.com', authMode: 'passthrough', cacheMaxSize: '42GiB', acmeStaging: false, accounts }),
    );
    expect(file.registries).toEqual({
      'docker.io': {
        accounts: [
          { username: 'a', passwordEnv: 'DOCXY_UPSTREAM_PASSWORD_0' },
          { username: 'c', passwordEnv: 'DOCXY_UPSTREAM_PASSWORD_2' },
        ],
      },
      'ghcr.io': { accounts: [{ username: 'b', passwordEnv: 'DOCXY_UPSTREAM_PASSWORD_1' }] },
    });
  });

  test('ACME options: staging, or another directory; e-mail only when given', () => {
    const staging = JSON.parse(
      ec2MirrorConfig({ domain: 'm.example.com', authMode: 'passthrough', cacheMaxSize: '1GiB', acmeStaging: true, accounts: [] }),
    );
    expect(staging.acme).toEqual({ domains: ['m.example.com'], httpListen: '0.0.0.0:8080', staging: true });
    const other = JSON.parse(
      ec2MirrorConfig({
        domain: 'm.example.com',
        authMode: 'proxy',
        cacheMaxSize: '1GiB',
        acmeStaging: false,
        acmeDirectoryUrl: 'https://ca.example.com/dir',
        acmeEmail: 'o@example.com',
        accounts: [],
      }),
    );
    expect(other.acme).toMatchObject({ directoryUrl: 'https://ca.example.com/dir', email: 'o@example.com' });
    // proxy mode on one host: the mirror keeps the key it generates on the data volume.
    expect(other.auth).toEqual({ mode: 'proxy' });
    expect(staging.auth).toBeUndefined();
  });

  test('Fargate: the inline config goes where DOCXY_CONFIG points, through the wrapper', () => {
    const mirror = fargateMirror({
      domain: 'm.example.com',
      authMode: 'passthrough',
      bucket: 'b',
      region: 'eu-west-1',
      vpcCidr: '10.0.0.0/16',
      accounts: [],
    });
    expect(mirror.command[0]).toContain(`> ${mirror.environment.DOCXY_CONFIG} &&`);
    expect(JSON.parse(mirror.environment.DOCXY_CONFIG_YAML!)).toEqual({
      cache: { redirect: true },
      access: { trustedProxies: ['10.0.0.0/16'] },
    });
  });
});

describe('EC2 host files', () => {
  const host = { region: 'eu-west-1', parameterPath: '/docxy/prod', volumeId: 'vol-0123456789abcdef0' };

  test('host.env refuses values that could break out of a shell file', () => {
    expect(hostEnv(host)).toBe('DOCXY_REGION=eu-west-1\nDOCXY_PARAMETERS=/docxy/prod\n');
    expect(() => hostEnv({ ...host, region: 'eu-west-1;reboot' })).toThrow('region');
    expect(() => hostEnv({ ...host, parameterPath: '/docxy/$(id)' })).toThrow('parameterPath');
    expect(() => hostEnv({ ...host, volumeId: 'vol-1 x' })).toThrow('volumeId');
  });

  test('units: the mirror restarts forever and stops within docker stop grace; the updater runs every minute', () => {
    const unit = units();
    expect(unit['docxy.service']).toMatch(/^ExecStart=\/usr\/local\/sbin\/docxy-run$/m);
    expect(unit['docxy.service']).toMatch(/^Restart=always$/m);
    expect(unit['docxy.service']).toMatch(/^RequiresMountsFor=\/srv\/docxy$/m);
    expect(unit['docxy.service']).toMatch(/^ExecStop=\/usr\/bin\/docker stop --time 40 docxy$/m);
    expect(unit['docxy-update.timer']).toMatch(/^OnUnitActiveSec=1min$/m);
    expect(unit['docxy-update.service']).toMatch(/^ExecStart=\/usr\/local\/sbin\/docxy-update$/m);
  });

  test('the boot script writes every file through quoted here-documents (nothing expanded at boot)', () => {
    const script = bootScript(host);
    for (const path of [
      '/etc/docxy/host.env',
      '/usr/local/lib/docxy/common.sh',
      '/usr/local/sbin/docxy-run',
      '/etc/systemd/system/docxy.service',
    ])
      expect(script).toContain(`cat > ${path} <<'DOCXY_EOF'\n`);
    expect(script).toContain('chmod 0755 /usr/local/sbin/docxy-run');
  });
});
