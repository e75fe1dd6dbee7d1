import { afterAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
      ec2MirrorConfig({ domain: 'mirror.example.com', acmeEmail: 'ops@example.com', acmeStaging: true, cacheMaxSize: '42GiB', accounts }),
    );
    const { status, output } = checkConfig(['--config', file], PASSWORD_ENV);
    expect(output).not.toContain('invalid');
    expect(status).toBe(0);
    expect(output).toMatch(/^listen: 0\.0\.0\.0:8443$/m);
    expect(output).toMatch(/^ {2}domains:\n {4}- mirror\.example\.com$/m);
    expect(output).toMatch(/^ {2}httpListen: 0\.0\.0\.0:8080$/m);
    expect(output).not.toContain('not-a-real-password');
  });

  test('fargate: the task environment and the wrapper that writes the inline config', () => {
    const mirror = fargateMirror({
      domain: 'mirror.example.com',
      bucket: 'docxy-cache-1234',
      region: 'eu-west-1',
      vpcCidr: '172.31.0.0/16',
      accounts,
    });
    // The task's own command, with check-config instead of serve and the file in this test's directory.
    const configPath = join(dir, 'fargate.yml');
    const command = mirror.command[0]!.replaceAll(mirror.environment.DOCXY_CONFIG!, configPath).replace(
      /exec node \S+ serve$/,
      `exec node ${main} check-config`,
    );
    const env = deploymentEnv({ ...mirror.environment, DOCXY_CONFIG: configPath, ...PASSWORD_ENV });
    const result = spawnSync(mirror.entryPoint[0]!, [...mirror.entryPoint.slice(1), command], { encoding: 'utf8', env, timeout: 30_000 });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^listen: 0\.0\.0\.0:5000$/m);
    expect(result.stdout).toMatch(/^ {2}store: s3$/m);
    expect(result.stdout).toMatch(/^ {2}redirect: true$/m);
    expect(result.stdout).toMatch(/^ {4}bucket: docxy-cache-1234$/m);
    expect(result.stdout).toMatch(/^ {2}trustedProxies:\n {4}- 172\.31\.0\.0\/16$/m);
  });

  test('and the check does refuse what the mirror would refuse (an account whose password variable is unset)', () => {
    const file = join(dir, 'unset.yml');
    writeFileSync(file, ec2MirrorConfig({ domain: 'mirror.example.com', acmeStaging: false, cacheMaxSize: '1GiB', accounts }));
    const { status, output } = checkConfig(['--config', file], {});
    expect(status).toBe(2);
    expect(output).toContain('DOCXY_UPSTREAM_PASSWORD_0 is not set');
  });
});
