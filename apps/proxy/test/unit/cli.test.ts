/** The `docxy` command line: help, usage errors that name the argument, check-config, gc. */
import { describe, expect, test } from '@jest/globals';
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseImageReference } from '../../src/cli/image-reference.js';
import { MirrorClient } from '../../src/cli/mirror-client.js';
import { startHttp } from '../testbed/http-server.js';
import { docxy } from '../testbed/cli.js';
import { fakeUpstream, mirrorOf } from './fake-upstream.js';
import { tempDir } from '../testbed/tmp.js';

describe('usage', () => {
  test('help lists the commands; each command has its own help', async () => {
    const top = await docxy(['--help']);
    expect(top.status).toBe(0);
    for (const name of ['serve', 'check-config', 'prefetch', 'gc']) expect(top.stdout).toContain(name);
    const gc = await docxy(['gc', '--help']);
    expect(gc.status).toBe(0);
    expect(gc.stdout).toContain('--max-size SIZE');
  });

  test.each([
    [['frob'], "unknown command 'frob'"],
    [['gc', '--bogus'], "'--bogus'"],
    [['gc'], "'--max-size' is required"],
    [['gc', '--max-size', 'lots'], "'--max-size': expected a size"],
    [['prefetch'], 'name at least one image'],
    [['prefetch', 'Bad Name:1'], 'is not a valid repository name'],
    [['prefetch', '--mirror', 'not a url', 'redis'], "'--mirror'"],
    [['check-config', '--config'], "--config <value>' argument missing"],
  ])('%j is a usage error naming the argument (exit 2)', async (args, message) => {
    const result = await docxy(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });
});

describe('check-config', () => {
  test('prints the effective configuration with secrets masked', async () => {
    const dir = tempDir('cli-config');
    const file = join(dir.path, 'docxy.yml');
    writeFileSync(file, 'registries:\n  docker.io:\n    accounts: [{ username: me, password: hunter2 }]\ncache:\n  tagFreshness: 5m\n');
    const result = await docxy(['check-config', '--config', file], { DOCXY_LISTEN: '127.0.0.1:7000' });
    dir.remove();
    expect(result.status).toBe(0);
    expect(result.stdout).not.toContain('hunter2');
    expect(result.stdout).toContain('password: "********"');
    expect(result.stdout).toContain('listen: 127.0.0.1:7000');
    expect(result.stdout).toContain('tagFreshness: 300000');
    expect(result.stdout).toContain('url: https://ghcr.io');
  });

  test('a bad key stops with exit 2 and names it', async () => {
    const dir = tempDir('cli-config');
    const file = join(dir.path, 'docxy.yml');
    writeFileSync(file, 'cache:\n  maxSize: "lots"\n');
    const result = await docxy(['check-config', '-c', file]);
    dir.remove();
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('cache.maxSize');
  });
});

describe('gc', () => {
  /** Writes a blob into the store layout, last used `age` seconds ago. */
  function putBlob(dataDir: string, size: number, age: number): string {
    const data = randomBytes(size);
    const hex = createHash('sha256').update(data).digest('hex');
    const dir = join(dataDir, 'blobs', 'sha256', hex.slice(0, 2));
    mkdirSync(dir, { recursive: true });
    const path = join(dir, hex);
    writeFileSync(path, data);
    const when = Date.now() / 1000 - age;
    utimesSync(path, when, when);
    return path;
  }

  test('evicts least recently used blobs down to --max-size, and leaves downloads in progress alone', async () => {
    const dir = tempDir('cli-gc');
    const oldest = putBlob(dir.path, 400_000, 300);
    const older = putBlob(dir.path, 400_000, 200);
    const recent = putBlob(dir.path, 400_000, 100);
    mkdirSync(join(dir.path, 'tmp'), { recursive: true });
    writeFileSync(join(dir.path, 'tmp', 'fill-in-progress'), 'x');
    const env = { DOCXY_DATA_DIR: dir.path };
    const dry = await docxy(['gc', '--max-size', '500KB', '--dry-run'], env);
    expect(dry.stdout).toContain('would evict 2 blobs');
    expect([oldest, older, recent].every(existsSync)).toBe(true);
    const result = await docxy(['gc', '--max-size', '500KB'], env);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('evicted 2 blobs');
    expect([existsSync(oldest), existsSync(older), existsSync(recent)]).toEqual([false, false, true]);
    expect(existsSync(join(dir.path, 'tmp', 'fill-in-progress'))).toBe(true);
    dir.remove();
  });
});

describe('image references', () => {
  test.each([
    ['redis', { name: 'redis', reference: 'latest' }],
    ['redis:7', { name: 'redis', reference: '7' }],
    ['bitnami/redis:7.2', { name: 'bitnami/redis', reference: '7.2' }],
    ['ghcr.io/owner/app:1.2', { name: 'ghcr.io/owner/app', reference: '1.2' }],
    ['localhost:5000/team/app', { name: 'localhost:5000/team/app', reference: 'latest' }],
    [`app@sha256:${'a'.repeat(64)}`, { name: 'app', reference: `sha256:${'a'.repeat(64)}` }],
  ])('%s', (text, expected) => {
    expect(parseImageReference(text)).toEqual(expected);
  });

  test('a bad digest or tag is named', () => {
    expect(() => parseImageReference('app@sha256:zz')).toThrow('is not a digest');
    expect(() => parseImageReference('app:-x')).toThrow('is not a valid tag');
  });
});

describe('healthcheck', () => {
  test('exit 0 when the configured listen address answers /healthz, 1 when nothing does', async () => {
    const upstream = await fakeUpstream((_req, res) => res.writeHead(404).end());
    const mirror = await mirrorOf(upstream);
    const listen = new URL(mirror.url).host;
    try {
      const healthy = await docxy(['healthcheck'], { DOCXY_LISTEN: listen });
      expect(healthy.status).toBe(0);
      await mirror.stop();
      const down = await docxy(['healthcheck', '--timeout', '2'], { DOCXY_LISTEN: listen });
      expect(down.status).toBe(1);
      expect(down.stderr).toContain(`${listen} is not healthy`);
    } finally {
      await upstream.close();
    }
  });
});

describe('prefetch credentials', () => {
  test('--user goes to the mirror’s own token realm only, never to a realm on another origin', async () => {
    const seen: Array<string | undefined> = [];
    const realm = await startHttp((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t"}');
    });
    const mirror = await startHttp((req, res) => {
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm.url}/token",service="s",scope="repository:app:pull"` }).end();
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"x"}]}');
    });
    try {
      const client = new MirrorClient({ base: new URL(mirror.url), credentials: 'me:secret' });
      expect((await client.get('/v2/app/manifests/1')).status).toBe(404);
      expect(seen).toEqual([undefined]);
    } finally {
      await mirror.close();
      await realm.close();
    }
  });
});
