import http from 'node:http';
import { MT } from './images.js';

/** A plain registry client for protocol tests: token handshake through a mirror's realm. */
export interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export async function tokenFrom(realmBase: string, scope: string, authorization?: string, service = 'docxy'): Promise<string> {
  const res = await fetch(`${realmBase}?service=${encodeURIComponent(service)}&scope=${encodeURIComponent(scope)}`, {
    headers: authorization ? { authorization } : {},
  });
  if (res.status !== 200) throw new Error(`token ${scope}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

export async function call(url: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const res = await fetch(url, { method: init.method ?? 'GET', headers: init.headers, redirect: 'follow' });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/** An HTTP request whose path is sent byte for byte (no URL normalisation). */
export function rawCall(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; localAddress?: string } = {},
): Promise<Reply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path, method: init.method ?? 'GET', headers: init.headers, localAddress: init.localAddress },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
          resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export function errorCode(reply: Reply): string | undefined {
  try {
    return (JSON.parse(reply.body.toString()) as { errors: Array<{ code: string }> }).errors[0]?.code;
  } catch {
    return undefined;
  }
}

/** Headers for a pull through a mirror: a token from its realm for `repo`, and every manifest type accepted. */
export async function pullHeaders(mirrorUrl: string, repo: string, credentials?: string): Promise<Record<string, string>> {
  const accept = [MT.dockerList, MT.dockerManifest, MT.ociIndex, MT.ociManifest].join(', ');
  return { authorization: `Bearer ${await tokenFrom(`${mirrorUrl}/auth/token`, `repository:${repo}:pull`, credentials)}`, accept };
}
