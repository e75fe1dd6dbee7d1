/** Starts Docxy in-process against a test bed, capturing its log lines. */
import { Writable } from 'node:stream';
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { startMirror, type Mirror } from '../../src/start.js';
import { tempDir } from './tmp.js';
import type { Testbed } from './testbed.js';

export interface TestMirror extends Mirror {
  logs: string[];
  /** `127.0.0.1:port`, as clients are configured with it. */
  hostPort: string;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startTestMirror(bed: Testbed, overrides: Partial<ConfigInput> = {}): Promise<TestMirror> {
  const data = overrides.dataDir ? { path: overrides.dataDir, remove: () => {} } : tempDir('mirror');
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const config = validateConfig({
    listen: '127.0.0.1:0',
    dataDir: data.path,
    log: { level: 'info' },
    registries: { 'docker.io': { url: bed.upstreamUrl, trustedRealms: [bed.token.realm] } },
    // The test bed lives on loopback, which production defaults refuse.
    ...overrides,
    upstream: { retries: 0, allowPrivateNetworks: true, ...overrides.upstream },
  });
  const mirror = await startMirror(config, sink);
  const hostPort = new URL(mirror.url).host;
  // The challenge realm must be reachable: point publicUrl at the bound port.
  return {
    ...mirror,
    logs,
    hostPort,
    dataDir: config.dataDir,
    async stop() {
      await mirror.stop();
      data.remove();
    },
  };
}
