/**
 * Who may use the mirror: client IP lists (X-Forwarded-For only from trusted proxies),
 * image rules with the operator's DENIED message, per-client request rates.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { useSeededMirror } from '../testbed/lifecycle.js';
import { startTestMirror, type TestMirror } from '../testbed/mirror.js';
import { MT } from '../testbed/images.js';
import { errorCode, rawCall, tokenFrom } from '../testbed/client.js';

const ALL = [MT.dockerList, MT.dockerManifest, MT.ociIndex, MT.ociManifest].join(', ');
const env = useSeededMirror();
let ipMirror: TestMirror;
let proxied: TestMirror;
let ruled: TestMirror;
let limited: TestMirror;

beforeAll(async () => {
  ipMirror = await startTestMirror(env.bed, { access: { allowIps: ['127.0.0.0/8'], denyIps: ['127.0.0.3/32'] } });
  proxied = await startTestMirror(env.bed, { access: { denyIps: ['198.51.100.0/24'], trustedProxies: ['127.0.0.4/32'] } });
  ruled = await startTestMirror(env.bed, {
    access: {
      rules: {
        anonymous: {
          registries: ['docker.io'],
          allow: ['docker.io/library/*'],
          block: ['docker.io/library/busybox'],
          message: 'busybox is blocked here, ask ops',
        },
      },
    },
  });
  limited = await startTestMirror(env.bed, { access: { rateLimits: { anonymous: { requestsPerSecond: 2 } } } });
});
afterAll(async () => {
  for (const m of [ipMirror, proxied, ruled, limited]) await m?.stop();
});

async function manifest(mirror: TestMirror, repo: string, init: { localAddress?: string; headers?: Record<string, string> } = {}) {
  const token = await tokenFrom(`${mirror.url}/auth/token`, `repository:${repo}:pull`);
  return rawCall(mirror.url, `/v2/${repo}/manifests/latest`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, accept: ALL, ...init.headers },
  });
}

describe('client IP lists', () => {
  test('a denied address is refused before anything else; probes still answer', async () => {
    env.bed.front.calls.length = 0;
    const denied = await rawCall(ipMirror.url, '/v2/alpine/manifests/latest', {
      localAddress: '127.0.0.3',
      headers: { authorization: 'Bearer x' },
    });
    expect(denied.status).toBe(403);
    expect(errorCode(denied)).toBe('DENIED');
    expect(env.bed.front.calls).toEqual([]);
    // Probes stay reachable for a load balancer left out of the lists (readiness too).
    expect((await rawCall(ipMirror.url, '/healthz', { localAddress: '127.0.0.3' })).status).toBe(200);
    expect((await rawCall(ipMirror.url, '/readyz', { localAddress: '127.0.0.3' })).status).toBe(200);
    expect((await manifest(ipMirror, 'alpine', { localAddress: '127.0.0.2' })).status).toBe(200);
  });

  test('X-Forwarded-For is honoured from the trusted proxy only', async () => {
    const viaProxy = await rawCall(proxied.url, '/v2/', { localAddress: '127.0.0.4', headers: { 'x-forwarded-for': '198.51.100.7' } });
    expect(viaProxy.status).toBe(403);
    const forged = await rawCall(proxied.url, '/v2/', { localAddress: '127.0.0.5', headers: { 'x-forwarded-for': '198.51.100.7' } });
    expect(forged.status).toBe(401);
    expect(proxied.logs.some((l) => l.includes('"ip":"198.51.100.7"'))).toBe(true);
  });
});

describe('image rules', () => {
  test('a blocked image answers DENIED with the operator message; allowed ones pull', async () => {
    const blocked = await manifest(ruled, 'busybox');
    expect(blocked.status).toBe(403);
    expect(JSON.parse(blocked.body.toString())).toMatchObject({
      errors: [{ code: 'DENIED', message: 'busybox is blocked here, ask ops' }],
    });
    expect((await manifest(ruled, 'acme/tool')).status).toBe(403);
    expect((await manifest(ruled, 'alpine')).status).toBe(200);
  });
});

describe('rate limits', () => {
  test('past its request rate a client gets 429 with Retry-After; another client does not', async () => {
    const token = await tokenFrom(`${limited.url}/auth/token`, 'repository:alpine:pull');
    const headers = { authorization: `Bearer ${token}`, accept: ALL };
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 4; i++) {
      const reply = await rawCall(limited.url, '/v2/alpine/manifests/latest', { headers });
      statuses.push(reply.status);
      if (reply.status === 429) retryAfter = reply.headers.get('retry-after');
    }
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    const other = await rawCall(limited.url, '/v2/alpine/manifests/latest', { headers, localAddress: '127.0.0.6' });
    expect(other.status).toBe(200);
  });
});
