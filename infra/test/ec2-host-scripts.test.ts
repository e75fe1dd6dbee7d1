import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HostPaths, commonScript, hostEnv, runScript, updateScript } from '../src/plan/ec2-host.js';

// The host scripts run for real under bash. There is no AWS here, so `aws`, `docker` and
// `systemctl` are small stand-ins on PATH: `aws` answers from a directory laid out like the
// stack's SSM parameters (<name>/value, <name>/version), the others record their arguments.
const STUB_AWS = `#!/bin/bash
set -euo pipefail
echo "aws $*" >> "$STUB_LOG"
name= path= decrypt=
while [ $# -gt 0 ]; do
  case "$1" in
    --name) name=$2; shift ;;
    --path) path=$2; shift ;;
    --with-decryption) decrypt=1 ;;
  esac
  shift
done
if [ -n "$name" ]; then cat "$STUB_SSM$name/value"; exit 0; fi
if [ -n "$path" ]; then
  find "$STUB_SSM$path" -name value | sort | while read -r file; do
    dir=\${file%/value}; key=\${dir#"$STUB_SSM"}
    if [ -n "$decrypt" ]; then printf '%s\\t%s\\n' "$key" "$(cat "$file")"; else printf '%s\\t%s\\n' "$key" "$(cat "$dir/version")"; fi
  done
  exit 0
fi
echo ecr-token
`;
const RECORDER = (name: string) => `#!/bin/bash\necho "${name} $*" >> "$STUB_LOG"\n[ "$1" = login ] && cat > /dev/null\nexit 0\n`;

const root = mkdtempSync(join(tmpdir(), 'docxy-host-'));
const paths: HostPaths = {
  hostEnv: join(root, 'etc/host.env'),
  common: join(root, 'lib/common.sh'),
  run: join(root, 'sbin/docxy-run'),
  update: join(root, 'sbin/docxy-update'),
  units: join(root, 'units'),
  state: join(root, 'run/docxy'),
};
const ssm = join(root, 'ssm');
const bin = join(root, 'bin');
const log = join(root, 'calls.log');
const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/docxy:abc';

function setParameter(name: string, value: string, version: number): void {
  mkdirSync(join(ssm, name), { recursive: true });
  writeFileSync(join(ssm, name, 'value'), value);
  writeFileSync(join(ssm, name, 'version'), String(version));
}

function run(script: string): { status: number | null; calls: string[]; stderr: string } {
  writeFileSync(log, '');
  const result = spawnSync('bash', [script], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, STUB_LOG: log, STUB_SSM: ssm },
  });
  return { status: result.status, calls: readFileSync(log, 'utf8').split('\n').filter(Boolean), stderr: result.stderr };
}

beforeAll(() => {
  for (const dir of ['etc', 'lib', 'sbin', 'run', 'bin']) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(paths.hostEnv, hostEnv({ region: 'eu-west-1', parameterPath: '/docxy/prod', volumeId: 'vol-0123456789abcdef0' }));
  writeFileSync(paths.common, commonScript(paths));
  writeFileSync(paths.run, runScript(paths));
  writeFileSync(paths.update, updateScript(paths));
  for (const [name, text] of [
    ['aws', STUB_AWS],
    ['docker', RECORDER('docker')],
    ['systemctl', RECORDER('systemctl')],
  ] as const) {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  }
  setParameter('/docxy/prod/image', IMAGE, 1);
  setParameter('/docxy/prod/config', '{"listen": "0.0.0.0:8443"}\n', 1);
  setParameter('/docxy/prod/upstream/0', 'pa ss=word', 1);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('docxy-run', () => {
  let result: ReturnType<typeof run>;
  beforeAll(() => {
    result = run(paths.run);
  });

  test('starts the image named in SSM, after logging in to its ECR registry and pulling it', () => {
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const docker = result.calls.filter((c) => c.startsWith('docker '));
    expect(docker[0]).toBe('docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    expect(docker).toContain(`docker pull --quiet ${IMAGE}`);
    const started = docker.at(-1)!;
    expect(started).toMatch(/^docker run --rm --name docxy --publish 443:8443 --publish 80:8080 /);
    expect(started).toContain(`--volume /srv/docxy/data:/data --volume ${paths.state}/config.yml:/etc/docxy/config.yml:ro`);
    expect(started).toContain(`--env DOCXY_CONFIG=/etc/docxy/config.yml --env-file ${paths.state}/secrets.env`);
    expect(started.endsWith(` ${IMAGE}`)).toBe(true);
  });

  test('writes the config file from SSM, readable by the container user', () => {
    expect(readFileSync(join(paths.state, 'config.yml'), 'utf8')).toBe('{"listen": "0.0.0.0:8443"}\n');
    expect(statSync(join(paths.state, 'config.yml')).mode & 0o777).toBe(0o644);
  });

  test('decrypts upstream passwords into a root-only env file named as the config expects', () => {
    const secrets = join(paths.state, 'secrets.env');
    expect(readFileSync(secrets, 'utf8')).toBe('DOCXY_UPSTREAM_PASSWORD_0=pa ss=word\n');
    expect(statSync(secrets).mode & 0o777).toBe(0o600);
    expect(statSync(paths.state).mode & 0o777).toBe(0o700);
    expect(result.calls.some((c) => c.includes('--with-decryption') && c.includes('--path /docxy/prod/upstream'))).toBe(true);
  });
});

describe('docxy-update', () => {
  test('does nothing while the parameters are those the container started from', () => {
    run(paths.run);
    const { status, calls } = run(paths.update);
    expect(status).toBe(0);
    expect(calls.filter((c) => !c.startsWith('aws ssm get-parameters-by-path'))).toEqual([]);
  });

  test('a new image: pulls it first, then restarts the mirror', () => {
    run(paths.run);
    setParameter('/docxy/prod/image', `${IMAGE}-2`, 2);
    const { status, calls } = run(paths.update);
    expect(status).toBe(0);
    const pull = calls.indexOf(`docker pull --quiet ${IMAGE}-2`);
    const restart = calls.indexOf('systemctl restart docxy.service');
    expect(pull).toBeGreaterThanOrEqual(0);
    expect(restart).toBeGreaterThan(pull);
  });

  test('a changed password (a new parameter version) restarts the mirror too', () => {
    run(paths.run);
    setParameter('/docxy/prod/upstream/0', 'rotated', 2);
    expect(run(paths.update).calls).toContain('systemctl restart docxy.service');
  });
});
