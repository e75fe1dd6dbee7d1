/** Docxy as a child process (built dist), for tests that kill it mid-transfer. */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './http-server.js';
import type { Testbed } from './testbed.js';

// apps/proxy/dist/main.js, whether this file runs from test/ (jest) or dist-bench/ (bench).
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/dist-bench\/$/, '/');
const MAIN = join(PACKAGE_ROOT, 'dist', 'main.js');

export interface MirrorProcess {
  url: string;
  pid: number;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function spawnMirror(bed: Testbed, dataDir: string): Promise<MirrorProcess> {
  const port = await freePort();
  const config = join(dataDir, '..', `docxy-${port}.yml`);
  writeFileSync(
    config,
    [
      `listen: "127.0.0.1:${port}"`,
      `dataDir: "${dataDir}"`,
      'registries:',
      '  docker.io:',
      `    url: "${bed.upstreamUrl}"`,
      `    trustedRealms: ["${bed.token.realm}"]`,
      'upstream:',
      '  allowPrivateNetworks: true',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(
    process.execPath,
    [...(process.env.DOCXY_NODE_FLAGS?.split(' ').filter(Boolean) ?? []), MAIN, '--config', config],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`mirror exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      if (i > 200) throw new Error(`mirror did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    pid: child.pid!,
    kill: (signal) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
