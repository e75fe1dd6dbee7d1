/**
 * Credentials stay with the registry they belong to (passthrough mode). To a client the
 * mirror is one host, so it sends the same login and may present any of its tokens on
 * any path; the mirror relays a login only to the registry of the Host it was made for
 * (an alias's registry, else the default) and a token only to the registry it was
 * issued for. Also: registries named with a port work by path prefix.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { useSeededMirror } from '../testbed/lifecycle.js';
import { startTestMirror, type TestMirror } from '../testbed/mirror.js';
import { MT } from '../testbed/images.js';
import { basic, errorCode, rawCall } from '../testbed/client.js';
import { skopeoCopy } from '../testbed/clients.js';
import { USERS } from '../testbed/token-service.js';
import { tempDir } from '../testbed/tmp.js';

const ALL = [MT.dockerList, MT.dockerManifest, MT.ociIndex, MT.ociManifest].join(', ');
const ALICE = basic('alice', USERS.alice!);
const env = useSeededMirror();
const dir = tempDir('credentials');
let mirror: TestMirror;
beforeAll(async () => {
  // The same stand-in registry under several names: the default, one with an alias, two with ports.
  const upstream = { url: env.bed.upstreamUrl, trustedRealms: [env.bed.token.realm] };
  mirror = await startTestMirror(env.bed, {
    registries: {
      'docker.io': upstream,
      'registry.test': { ...upstream, hosts: ['alias.test'] },
      'localhost:5000': upstream,
      'registry.local:8443': upstream,
    },
  });
});
afterAll(async () => {
  await mirror?.stop();
  dir.remove();
});

/** A token through the mirror's realm; the Host header picks whose login it is. */
async function token(scopes: string[], headers: Record<string, string> = {}): Promise<{ status: number; token?: string; code?: string }> {
  // `name=value` entries are sent as they are, the others as scopes.
  const query = scopes.map((s) => (s.startsWith('repository:') ? `scope=${encodeURIComponent(s)}` : s)).join('&');
  const reply = await rawCall(mirror.url, `/auth/token?service=docxy&${query}`, { headers });
  if (reply.status !== 200) return { status: reply.status, code: errorCode(reply) };
  return { status: 200, token: (JSON.parse(reply.body.toString()) as { token: string }).token };
}

const pull = (path: string, bearer: string) => rawCall(mirror.url, path, { headers: { authorization: `Bearer ${bearer}`, accept: ALL } });

describe('a login belongs to the registry of the Host it was made for', () => {
  test('a login for the mirror reaches the default registry only, GET and OAuth2 POST', async () => {
    env.bed.token.calls.length = 0;
    expect((await token(['repository:private/secret:pull'], { authorization: ALICE })).status).toBe(200);
    expect((await token(['repository:registry.test/private/secret:pull'], { authorization: ALICE })).status).toBe(200);
    const form = new URLSearchParams({ grant_type: 'password', username: 'alice', password: USERS.alice!, service: 'x' });
    form.set('scope', 'repository:registry.test/acme/tool:pull');
    expect((await fetch(`${mirror.url}/auth/token`, { method: 'POST', body: form })).status).toBe(200);
    expect(env.bed.token.calls.map((c) => [c.method, c.user, c.authorization, c.scopes])).toEqual([
      ['GET', 'alice', ALICE, ['repository:private/secret:pull']],
      ['GET', undefined, undefined, ['repository:private/secret:pull']],
      ['GET', undefined, undefined, ['repository:acme/tool:pull']],
    ]);
  });

  test('a login on a host alias reaches that registry only', async () => {
    env.bed.token.calls.length = 0;
    await token(['repository:registry.test/private/secret:pull'], { authorization: ALICE, host: 'alias.test' });
    // On the alias host every name is the alias's registry; only `?ns=` can name another.
    await token(['repository:private/secret:pull', 'ns=docker.io'], { authorization: ALICE, host: 'alias.test' });
    expect(env.bed.token.calls.map((c) => [c.authorization, c.scopes])).toEqual([
      [ALICE, ['repository:private/secret:pull']],
      [undefined, ['repository:private/secret:pull']],
    ]);
  });

  test('Basic credentials sent with a repository request go to their own registry only', async () => {
    env.bed.front.calls.length = 0;
    const other = await rawCall(mirror.url, '/v2/registry.test/acme/tool/manifests/1.0', {
      headers: { authorization: ALICE, accept: ALL },
    });
    expect(other.status).toBe(401);
    expect(env.bed.front.calls.length).toBeGreaterThan(0);
    expect(env.bed.front.calls.every((c) => c.authorization === undefined)).toBe(true);
  });

  test('skopeo logged in to the mirror: its login lifts the default registry, not a path-prefixed one', async () => {
    env.bed.token.calls.length = 0;
    const creds = `alice:${USERS.alice!}`;
    expect(await skopeoCopy(`${mirror.hostPort}/private/secret:latest`, join(dir.path, 'own'), creds)).toBe(env.images.secret.top.digest);
    expect(env.bed.token.calls.some((c) => c.authorization === ALICE)).toBe(true);
    env.bed.token.calls.length = 0;
    expect(await skopeoCopy(`${mirror.hostPort}/registry.test/acme/tool:1.0`, join(dir.path, 'public'), creds)).toBe(
      env.images.namespaced.top.digest,
    );
    await expect(skopeoCopy(`${mirror.hostPort}/registry.test/private/secret:latest`, join(dir.path, 'private'), creds)).rejects.toThrow();
    expect(env.bed.token.calls.length).toBeGreaterThan(0);
    expect(env.bed.token.calls.every((c) => c.authorization === undefined && c.user === undefined)).toBe(true);
  }, 60_000);
});

describe('a token goes to the registry it was issued for only', () => {
  test("alice's Docker Hub token is not sent to another registry; on its own it is", async () => {
    const issued = await token(['repository:private/secret:pull'], { authorization: ALICE });
    const upstreamToken = env.bed.token.issued.at(-1)!;
    expect(issued.token).not.toBe(upstreamToken);
    expect(issued.token).toContain(upstreamToken);

    env.bed.front.calls.length = 0;
    const elsewhere = await pull('/v2/registry.test/private/secret/manifests/latest', issued.token!);
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.headers.get('www-authenticate')).toContain('scope="repository:registry.test/private/secret:pull"');
    expect(env.bed.front.calls.length).toBeGreaterThan(0);
    expect(env.bed.front.calls.every((c) => !c.authorization?.includes(upstreamToken))).toBe(true);

    env.bed.front.calls.length = 0;
    const own = await pull('/v2/private/secret/manifests/latest', issued.token!);
    expect(own.status).toBe(200);
    expect(env.bed.front.calls.map((c) => c.authorization)).toContain(`Bearer ${upstreamToken}`);
  });

  test('a token request whose scopes name two registries is refused before any upstream call', async () => {
    env.bed.token.calls.length = 0;
    const reply = await token(['repository:alpine:pull', 'repository:registry.test/acme/tool:pull'], { authorization: ALICE });
    expect(reply).toEqual({ status: 403, code: 'DENIED' });
    const joined = await token(['repository:registry.test/acme/tool:pull repository:localhost:5000/acme/tool:pull']);
    expect(joined).toEqual({ status: 403, code: 'DENIED' });
    expect(env.bed.token.calls).toEqual([]);
    expect((await rawCall(mirror.url, '/healthz')).status).toBe(200);
  });
});

describe('registries named with a port', () => {
  test.each(['localhost:5000', 'registry.local:8443'])('%s works by path prefix, token handshake included', async (registry) => {
    const path = `/v2/${registry}/acme/tool/manifests/1.0`;
    const challenge = await rawCall(mirror.url, path, { headers: { accept: ALL } });
    const scope = /scope="([^"]+)"/.exec(challenge.headers.get('www-authenticate') ?? '')?.[1];
    expect(scope).toBe(`repository:${registry}/acme/tool:pull`);
    env.bed.token.calls.length = 0;
    const issued = await token([scope!]);
    expect(env.bed.token.calls.map((c) => c.scopes)).toEqual([['repository:acme/tool:pull']]);
    const reply = await pull(path, issued.token!);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('docker-content-digest')).toBe(env.images.namespaced.top.digest);
  });

  test('a port-named registry that is not configured is NAME_UNKNOWN; a bad repository after it NAME_INVALID', async () => {
    env.bed.front.calls.length = 0;
    const unknown = await rawCall(mirror.url, '/v2/localhost:5001/acme/tool/manifests/1.0', { headers: { authorization: 'Bearer x' } });
    expect([unknown.status, errorCode(unknown)]).toEqual([404, 'NAME_UNKNOWN']);
    const invalid = await rawCall(mirror.url, '/v2/localhost:5000/Acme/manifests/1.0', { headers: { authorization: 'Bearer x' } });
    expect([invalid.status, errorCode(invalid)]).toEqual([400, 'NAME_INVALID']);
    expect(env.bed.front.calls).toEqual([]);
  });
});
