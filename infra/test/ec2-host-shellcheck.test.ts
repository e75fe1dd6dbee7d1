import { afterAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootScript, commonScript, runScript, updateScript } from '../src/plan/ec2-host.js';

// shellcheck is a Debian package (scripts/ensure-system-deps.sh installs it).
const dir = mkdtempSync(join(tmpdir(), 'docxy-shellcheck-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function shellcheck(name: string, text: string): { status: number | null; output: string } {
  const file = join(dir, name);
  writeFileSync(file, text);
  const result = spawnSync('shellcheck', ['--shell=bash', '--severity=style', file], { encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, output: result.stdout + result.stderr };
}

const host = { region: 'eu-west-1', parameterPath: '/docxy/prod', volumeId: 'vol-0123456789abcdef0' };

describe('EC2 host scripts pass shellcheck', () => {
  test.each([
    ['boot script (user data)', bootScript(host)],
    ['common.sh', commonScript()],
    ['docxy-run', runScript()],
    ['docxy-update', updateScript()],
  ])('%s', (name, text) => {
    expect(shellcheck(name.replace(/\W+/g, '-'), text)).toEqual({ status: 0, output: '' });
  });

  test('shellcheck does report a broken script (the check can fail)', () => {
    const broken = runScript().replace('read -r name value', 'read name value');
    expect(broken).not.toBe(runScript());
    const { status, output } = shellcheck('broken', broken);
    expect(status).not.toBe(0);
    expect(output).toContain('SC2162');
  });
});
