import { describe, expect, test } from '@jest/globals';
import { validateWorkflow } from '@action-validator/core';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const workflowsDir = join(root, '.github', 'workflows');
const read = (name: string): string => readFileSync(join(workflowsDir, name), 'utf8');
const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  packageManager: string;
  scripts: Record<string, string>;
};

describe('GitHub workflows', () => {
  const files = readdirSync(workflowsDir).filter((f) => f.endsWith('.yml'));

  test('test.yml and deploy.yml exist', () => {
    expect(files.sort()).toEqual(['deploy.yml', 'test.yml']);
  });

  test.each(files)('%s is a valid workflow (action-validator schema)', (file) => {
    expect(validateWorkflow(read(file)).errors).toEqual([]);
  });

  test('the validator does reject a broken workflow', () => {
    const broken = read('deploy.yml').replace('runs-on: ubuntu-latest', 'runs_on: ubuntu-latest');
    expect(validateWorkflow(broken).errors.length).toBeGreaterThan(0);
  });

  test.each(files)('%s: every script, directory, package and policy pack it names exists', (file) => {
    const text = read(file);
    let references = 0;
    for (const [, script] of text.matchAll(/\bbash (\S+)/g)) {
      references++;
      expect(existsSync(join(root, script!))).toBe(true);
    }
    for (const [, dir] of text.matchAll(/working-directory: (\S+)/g)) {
      references++;
      expect(existsSync(join(root, dir!))).toBe(true);
    }
    for (const [, pack] of text.matchAll(/--policy-pack "\$GITHUB_WORKSPACE\/([^"]+)"/g)) {
      references++;
      expect(existsSync(join(root, pack!, 'PulumiPolicy.yaml'))).toBe(true);
      expect(existsSync(join(root, pack!, 'package.json'))).toBe(true);
    }
    for (const [, name] of text.matchAll(/--filter (\S+)/g)) {
      references++;
      const manifest = join(root, name!.replace('@docxy/', ''), 'package.json');
      expect(JSON.parse(readFileSync(manifest, 'utf8')).name).toBe(name);
    }
    expect(references).toBeGreaterThan(0);
    // The pinned pnpm, never another (see TOOLCHAIN: another one fails the identity check).
    for (const [, version] of text.matchAll(/pnpm@(\d+\.\d+\.\d+)/g)) expect(`pnpm@${version}`).toBe(rootPackage.packageManager);
    // Actions pinned to a release, never a moving branch.
    for (const [, ref] of text.matchAll(/uses: [\w.-]+\/[\w.-]+@(\S+)/g)) expect(ref).toMatch(/^v\d+/);
  });

  test('test.yml runs the README test command on every push and pull request', () => {
    const text = read('test.yml');
    expect(text).toMatch(/^on:\n {2}push:\n {2}pull_request:/m);
    expect(text).toContain('run: bash .ci/run');
    expect(readFileSync(join(root, '.ci', 'run'), 'utf8')).toContain('pnpm --silent test');
    expect(rootPackage.scripts.test).toBeDefined();
  });

  test('deploy.yml: after the tests on main, OIDC, ARM64 image tagged with the commit, policy pack, no overlap', () => {
    const text = read('deploy.yml');
    const testName = /^name: (\S+)$/m.exec(read('test.yml'))![1];
    expect(text).toContain(`workflows: [${testName}]`);
    expect(text).toContain('branches: [main]');
    expect(text).toContain("github.event.workflow_run.conclusion == 'success'");
    expect(text).toMatch(/permissions:\n {2}contents: read\n {2}id-token: write/);
    expect(text).toMatch(/role-to-assume: \$\{\{ vars\.AWS_ROLE_ARN \}\}/);
    expect(text).not.toMatch(/aws-access-key-id|AWS_SECRET_ACCESS_KEY/);
    expect(text).toContain('docker buildx build --platform linux/arm64 --tag "$image" --push');
    expect(text).toContain('image="$repository:$COMMIT"');
    expect(text).toContain('pulumi config set docxy:image "$IMAGE"');
    expect(text).toContain('pulumi up --yes --policy-pack');
    expect(text).toMatch(/concurrency:\n {2}group: deploy-\$\{\{ vars\.PULUMI_STACK \}\}\n {2}cancel-in-progress: false/);
  });
});
