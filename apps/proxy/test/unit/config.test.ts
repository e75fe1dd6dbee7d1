import { afterAll, describe, expect, test } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, publicUrlOf } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { tempDir } from '../testbed/tmp.js';

const dir = tempDir('config');
afterAll(() => dir.remove());

function file(name: string, text: string): string {
  const path = join(dir.path, name);
  writeFileSync(path, text);
  return path;
}

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('embedded defaults', () => {
  test('serve Docker Hub on 0.0.0.0:5000 with data in ./data', () => {
    const config = loadConfig({ argv: [], env: {} });
    expect(config.listen).toBe('0.0.0.0:5000');
    expect(config.dataDir).toBe('./data');
    expect(config.defaultRegistry).toBe('docker.io');
    expect(config.registries['docker.io']).toEqual({
      url: 'https://registry-1.docker.io',
      trustedRealms: ['https://auth.docker.io/token'],
      hosts: [],
      accounts: [],
      fallbacks: [],
    });
    expect(Object.keys(config.registries).sort()).toEqual([
      'docker.io',
      'gcr.io',
      'ghcr.io',
      'mcr.microsoft.com',
      'nvcr.io',
      'public.ecr.aws',
      'quay.io',
      'registry.k8s.io',
    ]);
    expect(config.upstream.allowPrivateNetworks).toBe(false);
    expect(config.auth.mode).toBe('passthrough');
    expect(config.tls).toBeUndefined();
    expect(config.upstream.idleTimeoutMs).toBe(60_000);
  });

  test('default durations and sizes go through the same conversion as configured ones', () => {
    const defaults = configSchema.parse({});
    expect(defaults.auth.tokenTtl).toBe(15 * 60_000);
    expect(defaults.cache.tagFreshness).toBe(60_000);
    expect(defaults.cache.maxStale).toBe(7 * 24 * 3600_000);
    expect(defaults.cache.unknownSizeEstimate).toBe(1024 ** 3);
    expect(defaults.access.rateLimits.anonymous.bytesPerSecond).toBe(0);
    // The same values written out in a file give the same result.
    const explicit = configSchema.parse({
      auth: { tokenTtl: '15m' },
      cache: { tagFreshness: 60, maxStale: '7d', unknownSizeEstimate: '1GiB' },
    });
    expect(explicit.auth.tokenTtl).toBe(defaults.auth.tokenTtl);
    expect(explicit.cache).toMatchObject({
      tagFreshness: defaults.cache.tagFreshness,
      maxStale: defaults.cache.maxStale,
      unknownSizeEstimate: defaults.cache.unknownSizeEstimate,
    });
    // And loadConfig with no file at all applies them.
    expect(loadConfig({ argv: [], env: {} }).cache.tagFreshness).toBe(60_000);
  });

  test('publicUrl falls back to the bound address, loopback for a wildcard bind', () => {
    const config = loadConfig({ argv: [], env: {} });
    expect(publicUrlOf(config, { address: '0.0.0.0', port: 5000 }).href).toBe('http://127.0.0.1:5000/');
    expect(publicUrlOf(config, { address: '::1', port: 5001 }).href).toBe('http://[::1]:5001/');
    expect(publicUrlOf({ ...config, publicUrl: 'https://m.example.com' }, { address: '0.0.0.0', port: 1 }).href).toBe(
      'https://m.example.com/',
    );
  });
});

describe('file and environment', () => {
  test('YAML file by --config, DOCXY_CONFIG; environment overrides the file', () => {
    const path = file(
      'a.yml',
      'listen: "127.0.0.1:6000"\npublicUrl: https://mirror.example.com\nregistries:\n  registry.example.org:\n    url: https://registry.example.org\n  quay.io:\n    enabled: false\n  ghcr.io:\n    hosts: [ghcr.mirror.example.com]\n',
    );
    const byFlag = loadConfig({ argv: ['--config', path], env: {} });
    expect(byFlag.listen).toBe('127.0.0.1:6000');
    expect(byFlag.registries['registry.example.org']).toEqual({
      url: 'https://registry.example.org',
      trustedRealms: [],
      hosts: [],
      accounts: [],
      fallbacks: [],
    });
    expect(byFlag.registries['quay.io']).toBeUndefined();
    expect(byFlag.registries['ghcr.io']).toEqual({
      url: 'https://ghcr.io',
      trustedRealms: [],
      hosts: ['ghcr.mirror.example.com'],
      accounts: [],
      fallbacks: [],
    });
    expect(loadConfig({ argv: [`--config=${path}`], env: {} }).publicUrl).toBe('https://mirror.example.com');
    const byEnv = loadConfig({
      argv: [],
      env: {
        DOCXY_CONFIG: path,
        DOCXY_LISTEN: '[::1]:7000',
        DOCXY_DATA_DIR: '/srv/docxy',
        DOCXY_CERT_PATH: '/c.pem',
        DOCXY_KEY_PATH: '/k.pem',
        DOCXY_PUBLIC_URL: 'https://other.example.com',
      },
    });
    expect(byEnv).toMatchObject({
      listen: '[::1]:7000',
      dataDir: '/srv/docxy',
      tls: { cert: '/c.pem', key: '/k.pem' },
      publicUrl: 'https://other.example.com',
    });
  });

  test('an operator can point docker.io at another URL', () => {
    const path = file(
      'b.yml',
      'registries:\n  docker.io:\n    url: http://127.0.0.1:9\n    trustedRealms: ["http://127.0.0.1:10/token"]\n',
    );
    expect(loadConfig({ argv: ['--config', path], env: {} }).registries['docker.io']).toEqual({
      url: 'http://127.0.0.1:9',
      trustedRealms: ['http://127.0.0.1:10/token'],
      hosts: [],
      accounts: [],
      fallbacks: [],
    });
  });
});

describe('upstream account secrets', () => {
  test('come from the file, a mounted secret file, or the environment', () => {
    const secret = file('secret', 'from-file\n');
    const path = file(
      'accounts.yml',
      `registries:\n  docker.io:\n    accounts:\n      - { username: a, password: inline }\n      - { username: b, passwordFile: ${secret} }\n      - { username: c, passwordEnv: HUB_TOKEN }\n`,
    );
    const config = loadConfig({ argv: ['--config', path], env: { HUB_TOKEN: 'from-env' } });
    expect(config.registries['docker.io']!.accounts).toEqual([
      { username: 'a', password: 'inline' },
      { username: 'b', password: 'from-file' },
      { username: 'c', password: 'from-env' },
    ]);
  });
});

describe('bad configuration stops start-up naming the key', () => {
  test.each([
    ['lisen: "0.0.0.0:5000"\n', 'lisen'],
    ['listen: "nonsense"\n', 'listen'],
    ['publicUrl: "ftp://x"\n', 'publicUrl'],
    ['upstream:\n  idleTimeout: 5\n', 'upstream'],
    ['upstream:\n  idleTimeoutMs: -1\n', 'upstream.idleTimeoutMs'],
    ['cache:\n  unknownSizeEstimate: lots\n', 'cache.unknownSizeEstimate'],
    ['registries:\n  ghcr.io:\n    url: not-a-url\n', 'registries.ghcr.io.url'],
    ['registries:\n  ghcr.io:\n    url: https://ghcr.io\n    trustedRealm: []\n', 'trustedRealm'],
    ['tls:\n  cert: /c.pem\n', 'tls.key'],
    ['defaultRegistry: nowhere.example\n', 'defaultRegistry'],
    ['auth:\n  mode: magic\n', 'auth.mode'],
    ['registries:\n  my.registry.example:\n    hosts: [a.example.com]\n', 'registries.my.registry.example.url'],
    ['registries:\n  ghcr.io:\n    hosts: [a.example.com]\n  quay.io:\n    hosts: [a.example.com]\n', 'registries.quay.io.hosts'],
    ['registries:\n  ghcr.io:\n    trustedRealms: ["ftp://x"]\n', 'registries.ghcr.io.trustedRealms'],
    ['registries:\n  ghcr.io:\n    hosts: ["Bad Host"]\n', 'registries.ghcr.io.hosts'],
    ['access:\n  allowIps: ["10.0.0.0/33"]\n', 'access.allowIps.0'],
    ['access:\n  trustedProxies: ["lb.example.com"]\n', 'access.trustedProxies.0'],
    ['access:\n  rules:\n    anonymous:\n      block: ["a//b"]\n', 'access.rules.anonymous.block.0'],
    ['access:\n  rules:\n    users:\n      bob:\n        allow: ["Docker.io/*"]\n', 'access.rules.users.bob.allow.0'],
    ['auth:\n  mode: proxy\n  anonymous: false\n', 'auth.htpasswd'],
    ['registries:\n  docker.io:\n    accounts:\n      - username: a\n', 'registries.docker.io.accounts.0'],
    [
      'registries:\n  docker.io:\n    accounts:\n      - username: a\n        passwordEnv: DOCXY_TEST_UNSET_SECRET\n',
      'registries.docker.io.accounts.0.passwordEnv',
    ],
  ])('%j names %s', (yaml, key) => {
    const path = file('bad.yml', yaml);
    expect(problem(() => loadConfig({ argv: ['--config', path], env: {} }))).toContain(key);
  });

  test('invalid YAML, a missing file, a non-mapping', () => {
    expect(problem(() => loadConfig({ argv: ['--config', file('y.yml', 'a: [')], env: {} }))).toMatch(/not valid YAML/);
    expect(problem(() => loadConfig({ argv: ['--config', join(dir.path, 'missing.yml')], env: {} }))).toMatch(/cannot read/);
    expect(problem(() => loadConfig({ argv: ['--config', file('l.yml', '- a\n')], env: {} }))).toMatch(/mapping/);
  });

  test('a bad environment value names the key it sets', () => {
    expect(problem(() => loadConfig({ argv: [], env: { DOCXY_LISTEN: 'oops' } }))).toContain('listen');
  });
});

describe('acme', () => {
  test('a domain list is enough: Let\u2019s Encrypt production, port 80, defaults for the schedule, publicUrl on the first domain', () => {
    const path = file('acme.yml', 'acme:\n  domains: [mirror.example.com, hub.example.com]\n  email: ops@example.com\n');
    const config = loadConfig({ argv: ['--config', path], env: {} });
    expect(config.acme).toEqual({
      domains: ['mirror.example.com', 'hub.example.com'],
      email: 'ops@example.com',
      staging: false,
      httpListen: '0.0.0.0:80',
      checkInterval: 12 * 3600_000,
      retryMin: 60_000,
      retryMax: 3600_000,
    });
    expect(publicUrlOf(config, { address: '0.0.0.0', port: 5000 }).href).toBe('https://mirror.example.com/');
    // An explicit publicUrl still wins.
    expect(publicUrlOf({ ...config, publicUrl: 'https://other.example.com:8443' }, { address: '0.0.0.0', port: 5000 }).href).toBe(
      'https://other.example.com:8443/',
    );
  });

  test('DOCXY_ACME_* variables set the block (comma-separated domains, boolean staging)', () => {
    const config = loadConfig({
      argv: [],
      env: {
        DOCXY_ACME_DOMAINS: 'a.example.com, b.example.com',
        DOCXY_ACME_EMAIL: 'ops@example.com',
        DOCXY_ACME_STAGING: 'true',
        DOCXY_ACME_CA_BUNDLE: '/etc/ssl/private-ca.pem',
        DOCXY_ACME_HTTP_LISTEN: '[::]:8080',
      },
    });
    expect(config.acme).toMatchObject({
      domains: ['a.example.com', 'b.example.com'],
      email: 'ops@example.com',
      staging: true,
      caBundle: '/etc/ssl/private-ca.pem',
      httpListen: '[::]:8080',
    });
    const directory = loadConfig({
      argv: [],
      env: { DOCXY_ACME_DOMAINS: 'a.example.com', DOCXY_ACME_DIRECTORY_URL: 'https://ca.example.com/dir' },
    });
    expect(directory.acme).toMatchObject({ directoryUrl: 'https://ca.example.com/dir', staging: false });
  });

  test.each([
    ['acme:\n  email: ops@example.com\n', 'acme.domains'],
    ['acme:\n  domains: []\n', 'acme.domains'],
    ['acme:\n  domains: ["*.example.com"]\n', 'acme.domains.0'],
    ['acme:\n  domains: ["10.0.0.1"]\n', 'acme.domains.0'],
    ['acme:\n  domains: [Mirror.Example.com]\n', 'acme.domains.0'],
    ['acme:\n  domains: [m.example.com]\n  directoryUrl: http://ca.example.com/dir\n', 'acme.directoryUrl'],
    ['acme:\n  domains: [m.example.com]\n  directoryUrl: https://ca.example.com/dir\n  staging: true\n', 'acme.staging'],
    ['acme:\n  domains: [m.example.com]\n  httpListen: "80"\n', 'acme.httpListen'],
    ['acme:\n  domains: [m.example.com]\n  retryMin: "1h"\n  retryMax: "1m"\n', 'acme.retryMax'],
    ['acme:\n  domains: [m.example.com]\n  renewBefore: soon\n', 'acme.renewBefore'],
    ['acme:\n  domains: [m.example.com]\n  challenge: dns-01\n', 'challenge'],
    ['acme:\n  domains: [m.example.com]\ntls: { cert: /c.pem, key: /k.pem }\n', 'acme'],
  ])('%j names %s', (yaml, key) => {
    const path = file('bad-acme.yml', yaml);
    expect(problem(() => loadConfig({ argv: ['--config', path], env: {} }))).toContain(key);
  });
});
