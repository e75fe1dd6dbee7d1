/** Pushes seed images straight to the registry (monolithic blob uploads), as `pusher`. */
import type { Blob, Image } from './images.js';
import { USERS } from './token-service.js';

async function pushToken(realm: string, service: string, repo: string): Promise<string> {
  const basic = Buffer.from(`pusher:${USERS.pusher}`).toString('base64');
  const res = await fetch(`${realm}?service=${encodeURIComponent(service)}&scope=repository:${repo}:pull,push`, {
    headers: { authorization: `Basic ${basic}` },
  });
  if (!res.ok) throw new Error(`push token: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

type PushAuth = { realm: string; service: string };

/** Uploads blobs the repository does not have yet (no manifest: a bench pulls them by digest). */
export async function pushBlobs(registryUrl: string, auth: PushAuth, repo: string, blobs: Blob[]): Promise<void> {
  const headers = { authorization: `Bearer ${await pushToken(auth.realm, auth.service, repo)}` };
  await uploadBlobs(registryUrl, headers, repo, blobs);
}

async function uploadBlobs(registryUrl: string, headers: Record<string, string>, repo: string, blobs: Blob[]): Promise<void> {
  for (const b of blobs) {
    const head = await fetch(`${registryUrl}/v2/${repo}/blobs/${b.digest}`, { method: 'HEAD', headers, redirect: 'manual' });
    if (head.status === 200 || head.status === 307) continue;
    const start = await fetch(`${registryUrl}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
    if (start.status !== 202) throw new Error(`upload start ${repo}: ${start.status} ${await start.text()}`);
    const location = new URL(start.headers.get('location')!, registryUrl);
    location.searchParams.set('digest', b.digest);
    const put = await fetch(location, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: b.data });
    if (put.status !== 201) throw new Error(`upload ${repo} ${b.digest}: ${put.status} ${await put.text()}`);
  }
}

export async function pushImage(registryUrl: string, auth: PushAuth, repo: string, image: Image, tags: string[]): Promise<void> {
  const token = await pushToken(auth.realm, auth.service, repo);
  const headers = { authorization: `Bearer ${token}` };
  await uploadBlobs(registryUrl, headers, repo, image.blobs);
  const references = [...image.manifests.slice(0, -1).map((m) => m.digest), ...tags];
  for (const [index, reference] of references.entries()) {
    const manifest = index < image.manifests.length - 1 ? image.manifests[index]! : image.top;
    const put = await fetch(`${registryUrl}/v2/${repo}/manifests/${reference}`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': manifest.mediaType },
      body: manifest.data,
    });
    if (put.status !== 201) throw new Error(`manifest ${repo}:${reference}: ${put.status} ${await put.text()}`);
  }
}
