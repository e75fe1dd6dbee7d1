/** The status page's data (`/-/stats`, TrafficStats) and the negotiation of `/`. Rendering in a browser: e2e/status-page.test.ts. */
import { afterEach, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { mirrorOf } from './fake-upstream.js';
import { fakeRegistry, pull } from './metrics-fake-registry.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { TrafficStats } from '../../src/observe/traffic-stats.js';
import { basic, tokenFrom } from '../testbed/client.js';
import { startHttp, type Started } from '../testbed/http-server.js';
import { tempDir } from '../testbed/tmp.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('TrafficStats', () => {
  const MINUTE = 60_000;
  test('a per-minute series of the last hour: zeros where nothing happened, older minutes dropped', () => {
    let now = Date.UTC(2026, 0, 1, 12, 0, 30);
    const stats = new TrafficStats({ recentPulls: true, now: () => now });
    stats.cacheOutcome('miss');
    stats.fetchedUpstream(1000);
    now += 30 * MINUTE;
    stats.cacheOutcome('hit');
    stats.served('hit', 700);
    stats.served('miss', 5); // not from the cache
    let snap = stats.snapshot();
    expect(snap.series).toHaveLength(60);
    expect(snap.series.at(-1)).toMatchObject({ requests: 1, hits: 1, cacheBytes: 700, upstreamBytes: 0 });
    expect(snap.series.at(-31)).toMatchObject({ requests: 1, hits: 0, upstreamBytes: 1000 });
    expect(snap.series.filter((b) => b.requests > 0)).toHaveLength(2);
    expect(snap.totals).toMatchObject({ requests: 2, hits: 1, hitRatio: 0.5, cacheBytes: 700, upstreamBytes: 1000 });
    now += 45 * MINUTE; // the first minute is now more than an hour old
    snap = stats.snapshot();
    expect(snap.series.filter((b) => b.requests > 0)).toHaveLength(1);
    expect(snap.totals.requests).toBe(2); // totals are since start
  });

  test('recent pulls: newest first, a platform manifest by digest folded into its tag pull, at most 20', () => {
    let now = 1_000_000;
    const stats = new TrafficStats({ recentPulls: true, now: () => now });
    stats.pull({ registry: 'docker.io', repository: 'library/alpine', reference: 'latest', outcome: 'miss' }, false);
    stats.pull({ registry: 'docker.io', repository: 'library/alpine', reference: 'sha256:ab', outcome: 'miss' }, true);
    expect(stats.snapshot().recentPulls!.map((p) => p.reference)).toEqual(['latest']);
    now += 120_000;
    stats.pull({ registry: 'docker.io', repository: 'library/alpine', reference: 'sha256:ab', outcome: 'hit' }, true);
    expect(stats.snapshot().recentPulls!.map((p) => p.reference)).toEqual(['sha256:ab', 'latest']);
    for (let i = 0; i < 30; i++) stats.pull({ registry: 'r', repository: `x${i}`, reference: 't', outcome: 'hit' }, false);
    expect(stats.snapshot().recentPulls).toHaveLength(20);
    expect(stats.snapshot().recentPulls![0]!.repository).toBe('x29');
  });

  test('only pulls the listable predicate accepts are kept', () => {
    const stats = new TrafficStats({ recentPulls: true, listable: (_registry, repository) => repository.startsWith('library/') });
    stats.pull({ registry: 'docker.io', repository: 'acme/secret', reference: 'latest', outcome: 'miss' }, false);
    stats.pull({ registry: 'docker.io', repository: 'library/alpine', reference: 'latest', outcome: 'miss' }, false);
    expect(stats.snapshot().recentPulls!.map((p) => p.repository)).toEqual(['library/alpine']);
  });

  test('recentPulls: false keeps none', () => {
    const stats = new TrafficStats({ recentPulls: false });
    stats.pull({ registry: 'docker.io', repository: 'private/secret', reference: 'latest', outcome: 'miss' }, false);
    expect(stats.snapshot().recentPulls).toBeNull();
  });
});

describe('the page and its figures on the mirror', () => {
  test('/ is the page for a browser only; API clients and wildcard Accepts keep the registry-format 404', async () => {
    const registry = await fakeRegistry();
    cleanup.push(() => registry.upstream.close());
    const mirror = await mirrorOf(registry.upstream, { publicUrl: 'https://mirror.example.test' });
    cleanup.push(() => mirror.stop());
    const page = await fetch(`${mirror.url}/`, { headers: { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'nonce-[^']+'/);
    const html = await page.text();
    expect(html).toContain('&quot;registry-mirrors&quot;: [\n    &quot;https://mirror.example.test&quot;');
    expect(html).toContain('[host.&quot;https://mirror.example.test&quot;]');
    expect(html).toContain('location = &quot;mirror.example.test&quot;');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//); // nothing from other hosts
    for (const accept of ['*/*', 'application/json', '']) {
      const res = await fetch(`${mirror.url}/`, { headers: accept ? { accept } : {} });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { errors: unknown[] }).errors).toHaveLength(1);
    }
  });

  test('/-/stats: totals, the hour series, quota and recent pulls after a pull', async () => {
    const registry = await fakeRegistry({ remaining: 7 });
    cleanup.push(() => registry.upstream.close());
    const mirror = await mirrorOf(registry.upstream);
    cleanup.push(() => mirror.stop());
    // The client's token comes through the mirror without credentials: an anonymous pull, so it is listed.
    const token = await tokenFrom(`${mirror.url}/auth/token`, 'repository:library/app:pull');
    const manifest = await fetch(`${mirror.url}/v2/app/manifests/latest`, {
      headers: { authorization: `Bearer ${token}`, accept: MANIFEST_TYPE },
    });
    expect(manifest.status).toBe(200);
    await manifest.arrayBuffer();
    await pull(mirror.url, `/v2/app/blobs/${registry.blobs[0]!.digest}`);
    await mirror.cache.fills.settle(); // committed: the next GET is a hit
    await pull(mirror.url, `/v2/app/blobs/${registry.blobs[0]!.digest}`);
    // A response's bytes are counted when its socket closes, which may be just after the
    // client has read its last byte: wait (bounded) until the hit has been counted.
    let stats: Record<string, unknown> = {};
    for (let attempt = 0; attempt < 100; attempt++) {
      stats = (await (await fetch(`${mirror.url}/-/stats`)).json()) as Record<string, unknown>;
      if ((stats.totals as { cacheBytes: number }).cacheBytes >= registry.blobs[0]!.data.length) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(stats).toMatchObject({
      totals: { requests: 3, hits: 1, upstreamBytes: registry.manifest.data.length + registry.blobs[0]!.data.length },
      quota: [{ registry: 'docker.io', account: 'last-seen', remaining: 7 }],
      recentPulls: [{ registry: 'docker.io', repository: 'library/app', reference: 'latest', outcome: 'miss' }],
      registries: expect.arrayContaining(['docker.io']),
      fills: { active: 0, readers: 0 },
    });
    expect((stats.totals as { cacheBytes: number }).cacheBytes).toBe(registry.blobs[0]!.data.length);
    expect(stats.series).toHaveLength(60);
  });

  test('statusPage: false serves neither the page nor its figures; recentPulls: false hides the pulls', async () => {
    const registry = await fakeRegistry();
    cleanup.push(() => registry.upstream.close());
    const off = await mirrorOf(registry.upstream, { metrics: { statusPage: false } });
    cleanup.push(() => off.stop());
    expect((await fetch(`${off.url}/`, { headers: { accept: 'text/html' } })).status).toBe(404);
    expect((await fetch(`${off.url}/-/stats`)).status).toBe(404);
    const quiet = await mirrorOf(registry.upstream, { metrics: { recentPulls: false } });
    cleanup.push(() => quiet.stop());
    await pull(quiet.url, '/v2/app/manifests/latest');
    const stats = (await (await fetch(`${quiet.url}/-/stats`)).json()) as { recentPulls: unknown; totals: { requests: number } };
    expect(stats.totals.requests).toBe(1);
    expect(stats.recentPulls).toBeNull();
    expect(await (await fetch(`${quiet.url}/`, { headers: { accept: 'text/html' } })).text()).not.toContain('library/app');
  });

  test('when clients must log in, recent pulls are off unless configured on; a pull that needed a login is not listed; the page and the other figures still work', async () => {
    const registry = await fakeRegistry();
    cleanup.push(() => registry.upstream.close());
    const dir = tempDir('stats-login');
    cleanup.push(() => dir.remove());
    const htpasswd = join(dir.path, 'users');
    writeFileSync(htpasswd, `bob:${bcrypt.hashSync('bob-secret', 4)}\n`);
    const auth = { mode: 'proxy', anonymous: false, htpasswd } as const;
    /** Bob logs in and pulls; then a visitor without a login reads the figures and the page. */
    const pulledByBob = async (metrics: { recentPulls?: boolean }, overrides: Partial<ConfigInput> = { auth }) => {
      const mirror = await mirrorOf(registry.upstream, { ...overrides, metrics });
      cleanup.push(() => mirror.stop());
      const login = await fetch(`${mirror.url}/auth/token?service=x&scope=repository:app:pull`, {
        headers: { authorization: basic('bob', 'bob-secret') },
      });
      const { token } = (await login.json()) as { token: string };
      const res = await fetch(`${mirror.url}/v2/app/manifests/latest`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.docker.distribution.manifest.v2+json' },
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      expect((await fetch(`${mirror.url}/v2/app/manifests/latest`)).status).toBe(401); // the visitor cannot pull
      const stats = (await (await fetch(`${mirror.url}/-/stats`)).json()) as { recentPulls: unknown; totals: { requests: number } };
      const page = await fetch(`${mirror.url}/`, { headers: { accept: 'text/html' } });
      return { stats, page: { status: page.status, html: await page.text() } };
    };

    const hidden = await pulledByBob({});
    expect(hidden.stats.totals.requests).toBe(1);
    expect(hidden.stats.recentPulls).toBeNull();
    expect(hidden.page.status).toBe(200);
    expect(hidden.page.html).not.toContain('library/app');

    const shown = await pulledByBob({ recentPulls: true });
    expect(shown.stats.recentPulls).toMatchObject([{ registry: 'docker.io', repository: 'library/app', reference: 'latest' }]);
    expect(shown.page.html).toContain('library/app');

    // Anonymous pulls allowed, but not of this image: Bob's pull needed his login, so it is not listed.
    const loginOnly = await pulledByBob(
      {},
      {
        auth: { ...auth, anonymous: true },
        access: { rules: { anonymous: { registries: ['*'], allow: ['docker.io/library/other'], block: [] } } },
      },
    );
    expect(loginOnly.stats.recentPulls).toEqual([]);
    expect(loginOnly.page.html).not.toContain('library/app');
  });

  test("passthrough: a private repository pulled with a user's own credentials is not listed; a public one pulled anonymously is", async () => {
    const upstream = await privateAndPublic();
    cleanup.push(() => upstream.close());
    const mirror = await mirrorOf(upstream);
    cleanup.push(() => mirror.stop());
    const get = async (repository: string, token: string): Promise<number> => {
      const res = await fetch(`${mirror.url}/v2/${repository}/manifests/latest`, {
        headers: { authorization: `Bearer ${token}`, accept: MANIFEST_TYPE },
      });
      await res.arrayBuffer();
      return res.status;
    };
    const realm = `${mirror.url}/auth/token`;
    const alice = await tokenFrom(realm, 'repository:acme/secret-app:pull', basic('alice', 'alice-secret'));
    expect(await get('acme/secret-app', alice)).toBe(200);
    const anonymous = await tokenFrom(realm, 'repository:library/app:pull');
    expect(await get('acme/secret-app', anonymous)).toBe(404); // private indeed
    expect(await get('library/app', anonymous)).toBe(200);
    // Alice's own pull of a public repository needs no login either, once it is known public.
    const aliceOnPublic = await tokenFrom(realm, 'repository:library/app:pull', basic('alice', 'alice-secret'));
    expect(await get('library/app', aliceOnPublic)).toBe(200);
    const stats = (await (await fetch(`${mirror.url}/-/stats`)).json()) as { recentPulls: Array<{ repository: string }> };
    expect(stats.recentPulls.map((p) => p.repository)).toEqual(['library/app', 'library/app']);
    const html = await (await fetch(`${mirror.url}/`, { headers: { accept: 'text/html' } })).text();
    expect(html).toContain('library/app');
    expect(html).not.toContain('secret-app');
  });
});

const MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';

/**
 * An upstream with a public repository (`library/app`, any token) and a private one
 * (`acme/secret-app`, only alice's token; others get 404 as Docker Hub answers). Its
 * token service hands alice (Basic alice:alice-secret) her token and anyone else an
 * anonymous one.
 */
async function privateAndPublic(): Promise<Started> {
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 2 },
      layers: [],
    }),
  );
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  return startHttp((req, res) => {
    const url = req.url ?? '';
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (url === '/v2/') {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="fake"` }).end();
    } else if (url.startsWith('/token')) {
      const isAlice = req.headers.authorization === basic('alice', 'alice-secret');
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token: isAlice ? 'alice-token' : 'anonymous-token' }));
    } else if (
      /^\/v2\/library\/app\/manifests\//.test(url) ||
      (/^\/v2\/acme\/secret-app\/manifests\//.test(url) && token === 'alice-token')
    ) {
      res.writeHead(200, { 'content-type': MANIFEST_TYPE, 'content-length': String(manifest.length), 'docker-content-digest': digest });
      res.end(req.method === 'HEAD' ? undefined : manifest);
    } else {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}');
    }
  });
}
