/**
 * A minimal in-process upstream registry for edge unit tests: a Bearer challenge on
 * /v2/ whose realm is on its own host (so it is trusted), and a blob route whose
 * behaviour each test supplies.
 */
import type http from 'node:http';
import { Writable } from 'node:stream';
import { startHttp, type Started } from '../testbed/http-server.js';
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { startMirror, type Mirror } from '../../src/start.js';
import { tempDir } from '../testbed/tmp.js';

export async function fakeUpstream(blob: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Started> {
  return startHttp((req, res) => {
    if (req.url === '/v2/') {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="fake"` }).end();
    } else if (req.url?.startsWith('/token')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t"}');
    } else {
      blob(req, res);
    }
  });
}

export async function mirrorOf(
  upstream: Started,
  overrides: Partial<ConfigInput> = {},
): Promise<Mirror & { logs: string[]; stop(): Promise<void> }> {
  const data = tempDir('unit-mirror');
  const logs: string[] = [];
  const sink = new Writable({
    write: (c: Buffer, _e, done) => {
      logs.push(c.toString());
      done();
    },
  });
  const mirror = await startMirror(
    validateConfig({
      listen: '127.0.0.1:0',
      dataDir: data.path,
      registries: { 'docker.io': { url: upstream.url } },
      ...overrides,
      upstream: { retries: 0, allowPrivateNetworks: true, ...overrides.upstream },
    }),
    sink,
  );
  return {
    ...mirror,
    logs,
    stop: async () => {
      await mirror.stop();
      data.remove();
    },
  };
}

export const DIGEST = `sha256:${'c'.repeat(64)}`;
