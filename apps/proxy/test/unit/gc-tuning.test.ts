/** serve turns V8's incremental marking off unless the operator chose otherwise. */
import { describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tuneGarbageCollector } from '../../src/runtime/gc-tuning.js';

describe('tuneGarbageCollector', () => {
  test("an operator's own incremental-marking flag is left alone", () => {
    expect(tuneGarbageCollector(['--incremental-marking'], '')).toBe(false);
    expect(tuneGarbageCollector([], '--max-old-space-size=512 --no-incremental-marking')).toBe(false);
  });

  test('otherwise the flag is set, and a GC then marks in one step', () => {
    // --trace-gc shows "in N steps since start of marking" only when marking ran incrementally.
    // The child runs the built module (the test task builds first): node 20 cannot run .ts.
    const module = fileURLToPath(new URL('../../dist/runtime/gc-tuning.js', import.meta.url));
    const script = `
      import { tuneGarbageCollector } from ${JSON.stringify(module)};
      if (process.argv[1] === 'tune') tuneGarbageCollector([], '');
      let keep = [];
      for (let i = 0; i < 3000; i++) {
        keep.push(Buffer.alloc(256 * 1024), new Array(2000).fill({ i }));
        if (keep.length > 200) keep = keep.slice(100);
      }
    `;
    const run = (mode: string): string =>
      execFileSync(process.execPath, ['--trace-gc', '--input-type=module', '-e', script, mode], {
        encoding: 'utf8',
      });
    expect(run('default')).toMatch(/Mark-Compact.*in \d+ steps since start of marking/);
    const tuned = run('tune');
    expect(tuned).toMatch(/Mark-Compact/);
    expect(tuned).not.toMatch(/in \d+ steps since start of marking/);
  });
});
