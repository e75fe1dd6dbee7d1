/**
 * deploy.yml deploys only commits that are on main: the guard step comes right after the
 * checkout, before anything is built or runs with the AWS role, and its script is run here
 * under bash against real git repositories (an origin with main and an unmerged branch).
 * The workflow's other properties are checked in infra/test/workflows.test.ts.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { tempDir } from '../testbed/tmp.js';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  shell?: string;
  with?: Record<string, unknown>;
}

const workflow = fileURLToPath(new URL('../../../../.github/workflows/deploy.yml', import.meta.url));
const steps = (parse(readFileSync(workflow, 'utf8')) as { jobs: { deploy: { steps: Step[] } } }).jobs.deploy.steps;
const guardIndex = steps.findIndex((step) => step.run?.includes('git merge-base --is-ancestor'));
const guard = steps[guardIndex]!;

const dir = tempDir('deploy-guard');
afterAll(() => dir.remove());

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'init.defaultBranch=main', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/**
 * An origin whose main has two commits and whose branch `side` one more off main's first, and
 * a full clone of it checked out at `commit`, as actions/checkout with fetch-depth 0 leaves it.
 */
function repositories(): { clone: string; main: string[]; side: string } {
  const origin = join(dir.path, 'origin');
  execFileSync('mkdir', ['-p', origin]);
  git(origin, 'init', '-q');
  git(origin, 'commit', '-q', '--allow-empty', '-m', 'one');
  const first = git(origin, 'rev-parse', 'HEAD');
  git(origin, 'commit', '-q', '--allow-empty', '-m', 'two');
  const second = git(origin, 'rev-parse', 'HEAD');
  git(origin, 'checkout', '-q', '-b', 'side', first);
  git(origin, 'commit', '-q', '--allow-empty', '-m', 'unmerged');
  const side = git(origin, 'rev-parse', 'HEAD');
  git(origin, 'checkout', '-q', 'main');
  const clone = join(dir.path, 'clone');
  git(dir.path, 'clone', '-q', origin, clone);
  return { clone, main: [first, second], side };
}

/** Runs the guard's script as the runner does (`shell: bash`: bash -e -o pipefail). */
function runGuard(cwd: string, commit: string): { status: number | null; output: string } {
  git(cwd, 'checkout', '-q', '--detach', /^[0-9a-f]{40}$/.test(commit) ? commit : 'HEAD');
  const result = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', guard.run!], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, COMMIT: commit },
    encoding: 'utf8',
  });
  return { status: result.status, output: result.stdout + result.stderr };
}

describe('deploy.yml: only commits on main are deployed', () => {
  test('the guard follows the full-history checkout of the commit, before every other step', () => {
    expect(guardIndex).toBe(1);
    expect(steps[0]!.uses).toMatch(/^actions\/checkout@/);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a template
    expect(steps[0]!.with).toMatchObject({ ref: '${{ env.COMMIT }}', 'fetch-depth': 0 });
    expect(guard.shell).toBe('bash');
    expect(guard.run).toContain('origin/main');
  });

  test('a commit of main passes; an unmerged one, a short SHA and a ref name are refused', () => {
    const { clone, main, side } = repositories();
    for (const commit of main) expect(runGuard(clone, commit)).toMatchObject({ status: 0 });
    const unmerged = runGuard(clone, side);
    expect(unmerged.status).toBe(1);
    expect(unmerged.output).toContain(`::error::${side} is not on main`);
    for (const name of [main[1]!.slice(0, 12), 'side', 'main', `${main[0]}; true`]) {
      const refused = runGuard(clone, name);
      expect(refused.status).toBe(1);
      expect(refused.output).toContain('full 40-character SHA');
    }
  });
});
