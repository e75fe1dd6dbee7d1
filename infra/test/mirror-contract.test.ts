import { afterAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ec2MirrorConfig, fargateMirror } from '../src/mirror-contract.js';

// The settings the program hands the mirror, checked by the mirror itself: `docxy check-config`
// from apps/proxy's build (infra/turbo.json builds it before these tests). A drift between the
// program and the mirror's configuration schema fails here, not on AWS.
const main = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'apps', 'proxy', 'dist', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'docxy-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const accounts = [{ registry: 'docker.io', username: 'acme' }];
const PASSWORD_ENV = { DOCXY_UPSTREAM_PASSWORD_0: 'not-a-real-password' };
const SIGNING_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ format: 'pem', type: 'pkcs8' })
  .toString()
  .trim();

/** Only what the deployment sets: no DOCXY_* from the environment running the tests. */
function deploymentEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('DOCXY_'))), ...env };
}

function checkConfig(args: string[], env: Record<string, string>): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [main, 'check-config', ...args], {
    encoding: 'utf8',
    env: deploymentEnv(env),
    timeout: 30_000,
  });
  return { status: result.status, output: result.stdout + result.stderr };
}

describe("the mirror accepts the program's configuration", () => {
  test('ec2: the config file (HTTPS, built-in ACME for the domain, fs cache, accounts by env)', () => {
    const file = join(dir, 'ec2.yml');
    writeFileSync(
      file,
      ec2MirrorConfig({
        domain: 'mirror.example.com',
        authMode: 'passthrough',
        acmeEmail: 'ops@example.com',
        acmeStaging: true,
        cacheMaxSize: '42GiB',
        accounts,
      }),
    );
    const { status, output } = checkConfig(['--config', file], PASSWORD_ENV);
    expect(output).not.toContain('invalid');
    expect(status).toBe(0);
    expect(output).toMatch(/^listen: 0\.0\.0\.0:8443$/m);
    expect(output).toMatch(/^ {2}domains:\n {4}- mirror\.example\.com$/m);
    expect(output).toMatch(/^ {2}httpListen: 0\.0\.0\.0:8080$/m);
    expect(output).not.toContain('not-a-real-password');
  });

  // The task's own command, with its files in this test's directory and `finalCommand` instead of serve.
  function runWrapper(authMode: 'passthrough' | 'proxy', finalCommand: string, secrets: Record<string, string>) {
    const mirror = fargateMirror({
      domain: 'mirror.example.com',
      authMode,
      bucket: 'docxy-cache-1234',
      region: 'eu-west-1',
      vpcCidr: '172.31.0.0/16',
      accounts,
    });
    const configPath = join(dir, `${authMode}.yml`);
    const keyPath = join(dir, `${authMode}-key.pem`);
    const command = mirror.command[0]!.replaceAll(mirror.environment.DOCXY_CONFIG!, configPath)
      .replaceAll('/tmp/docxy-signing-key.pem', keyPath)
      .replace(/exec node \S+ serve$/, `exec ${finalCommand}`);
    const file = mirror.environment.DOCXY_CONFIG_YAML!.replaceAll('/tmp/docxy-signing-key.pem', keyPath);
    const env = deploymentEnv({ ...mirror.environment, DOCXY_CONFIG: configPath, DOCXY_CONFIG_YAML: file, ...secrets });
    const result = spawnSync(mirror.entryPoint[0]!, [...mirror.entryPoint.slice(1), command], { encoding: 'utf8', env, timeout: 30_000 });
    return { ...result, keyPath };
  }

  test.each(['passthrough', 'proxy'] as const)(
    'fargate (%s): the task environment and the wrapper that writes the inline config',
    (authMode) => {
      const result = runWrapper(authMode, `node ${main} check-config`, { ...PASSWORD_ENV, DOCXY_SIGNING_KEY_PEM: SIGNING_KEY });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^listen: 0\.0\.0\.0:5000$/m);
      expect(result.stdout).toMatch(/^ {2}store: s3$/m);
      expect(result.stdout).toMatch(/^ {2}redirect: true$/m);
      expect(result.stdout).toMatch(/^ {4}bucket: docxy-cache-1234$/m);
      expect(result.stdout).toMatch(/^ {2}trustedProxies:\n {4}- 172\.31\.0\.0\/16$/m);
      expect(result.stdout).toMatch(new RegExp(`^ {2}mode: ${authMode}$`, 'm'));
    },
  );

  test('fargate (proxy): the signing key reaches a 0600 file the config names, and leaves the environment', () => {
    const result = runWrapper('proxy', `node -p "process.env.DOCXY_SIGNING_KEY_PEM === undefined"`, {
      ...PASSWORD_ENV,
      DOCXY_SIGNING_KEY_PEM: SIGNING_KEY,
    });
    expect(result.stdout).toBe('true\n');
    expect(readFileSync(result.keyPath, 'utf8')).toBe(`${SIGNING_KEY}\n`);
    expect(statSync(result.keyPath).mode & 0o777).toBe(0o600);
    // The mirror's own key loader (apps/proxy auth/signing-key.ts) wants an EC P-256 key: so does createPrivateKey here.
    expect(createPrivateKey(readFileSync(result.keyPath)).asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
  });

  test('and the check does refuse what the mirror would refuse (an account whose password variable is unset)', () => {
    const file = join(dir, 'unset.yml');
    writeFileSync(
      file,
      ec2MirrorConfig({ domain: 'mirror.example.com', authMode: 'passthrough', acmeStaging: false, cacheMaxSize: '1GiB', accounts }),
    );
    const { status, output } = checkConfig(['--config', file], {});
    expect(status).toBe(2);
    expect(output).toContain('DOCXY_UPSTREAM_PASSWORD_0 is not set');
  });
});
