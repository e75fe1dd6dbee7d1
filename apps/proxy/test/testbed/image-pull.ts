/**
 * Pulls an image through a mirror the way a client does, over plain HTTP: a token from
 * the mirror's realm, the manifest by tag, child manifests by digest, every blob. For
 * tests that only need traffic (metrics, the status page), not a particular client.
 */
import { MT, type Image } from './images.js';
import { call, tokenFrom } from './client.js';

const ACCEPT = [MT.dockerList, MT.dockerManifest, MT.ociIndex, MT.ociManifest].join(', ');

export async function pullImage(mirrorUrl: string, name: string, tag: string, image: Image): Promise<void> {
  const token = await tokenFrom(`${mirrorUrl}/auth/token`, `repository:${name}:pull`);
  const headers = { authorization: `Bearer ${token}`, accept: ACCEPT };
  const get = async (path: string): Promise<void> => {
    const reply = await call(`${mirrorUrl}/v2/${name}/${path}`, { headers });
    if (reply.status !== 200) throw new Error(`GET ${path}: ${reply.status} ${reply.body.toString().slice(0, 200)}`);
  };
  await get(`manifests/${tag}`);
  for (const manifest of image.manifests.filter((m) => m !== image.top)) await get(`manifests/${manifest.digest}`);
  for (const blob of image.blobs) await get(`blobs/${blob.digest}`);
}
