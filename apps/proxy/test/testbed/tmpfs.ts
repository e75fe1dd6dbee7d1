/** A small tmpfs for disk-full tests (needs root, as CI and the test command run). */
import { execFileSync } from 'node:child_process';
import { tempDir } from './tmp.js';

export function mountTmpfs(sizeBytes: number): { path: string; unmount(): void } {
  const dir = tempDir('tmpfs');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir.path]);
  return {
    path: dir.path,
    unmount: () => {
      execFileSync('umount', ['-l', dir.path]);
      dir.remove();
    },
  };
}
