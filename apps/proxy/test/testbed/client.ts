/** A plain registry client for protocol tests: token handshake through a mirror's realm. */
export interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export async function tokenFrom(realmBase: string, scope: string, authorization?: string): Promise<string> {
  const res = await fetch(`${realmBase}?service=x&scope=${encodeURIComponent(scope)}`, { headers: authorization ? { authorization } : {} });
  if (res.status !== 200) throw new Error(`token ${scope}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

export async function call(url: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const res = await fetch(url, { method: init.method ?? 'GET', headers: init.headers, redirect: 'follow' });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

export function errorCode(reply: Reply): string | undefined {
  try {
    return (JSON.parse(reply.body.toString()) as { errors: Array<{ code: string }> }).errors[0]?.code;
  } catch {
    return undefined;
  }
}
