/**
 * The end-to-end test bed: a stand-in for Docker Hub made of the real registry with
 * token auth, a token service, a counting front, and a CDN origin on another loopback
 * address that blob GETs are redirected to. `seed()` pushes the standard images.
 */
import { randomBytes } from 'node:crypto';
import { makeSigningCert } from './pki.js';
import { startTokenService, type TokenService } from './token-service.js';
import { startCdn, type Cdn } from './cdn.js';
import { startFront, type Front } from './front.js';
import { startRegistry, type RegistryProcess } from './registry-process.js';
import { tempDir } from './tmp.js';
import { multiPlatformImage, singleImage, type Image } from './images.js';
import { pushImage } from './push.js';
import { freePort } from './http-server.js';

export const SERVICE = 'docxy-test-registry';
const ISSUER = 'docxy-test-issuer';

export interface SeedImages {
  /** `library/alpine:latest` and `:3.20`: a Docker manifest list, two platforms. */
  list: Image;
  /** `library/busybox:latest`: an OCI index, two platforms. */
  oci: Image;
  /** `acme/tool:1.0`: a single Docker manifest outside `library/`. */
  namespaced: Image;
  /** `private/secret:latest`: pull needs alice's credentials. */
  secret: Image;
}

export interface Testbed {
  dir: string;
  token: TokenService;
  cdn: Cdn;
  registry: RegistryProcess;
  front: Front;
  /** The URL Docxy is configured with as its upstream. */
  upstreamUrl: string;
  push(repo: string, image: Image, tags: string[]): Promise<void>;
  seed(): Promise<SeedImages>;
  stop(): Promise<void>;
}

export async function startTestbed(): Promise<Testbed> {
  const dir = tempDir('bed');
  const cert = makeSigningCert(dir.path);
  const token = await startTokenService({ cert, service: SERVICE, issuer: ISSUER });
  // The registry needs the CDN's address in its config, and the CDN needs the
  // registry's storage path: reserve the CDN port first.
  const cdnPort = await freePort('127.0.0.2');
  const registry = await startRegistry({
    dir: dir.path,
    token: { realm: token.realm, service: SERVICE, issuer: ISSUER, rootCertBundle: cert.certPath },
    redirectBaseUrl: `http://127.0.0.2:${cdnPort}`,
  });
  const cdn = await startCdnOn(registry.storageRoot, cdnPort);
  const front = await startFront(registry);
  const push = (repo: string, image: Image, tags: string[]): Promise<void> =>
    pushImage(registry.url, { realm: token.realm, service: SERVICE }, repo, image, tags);
  return {
    dir: dir.path,
    token,
    cdn,
    registry,
    front,
    upstreamUrl: front.url,
    push,
    async seed() {
      const images: SeedImages = {
        list: multiPlatformImage('alpine', { oci: false }),
        oci: multiPlatformImage('busybox', { oci: true }),
        namespaced: singleImage('tool'),
        secret: singleImage('secret'),
      };
      await push('library/alpine', images.list, ['latest', '3.20']);
      await push('library/busybox', images.oci, ['latest']);
      await push('acme/tool', images.namespaced, ['1.0']);
      await push('private/secret', images.secret, ['latest']);
      // Seeding is not traffic under test.
      front.calls.length = 0;
      cdn.calls.length = 0;
      token.calls.length = 0;
      return images;
    },
    async stop() {
      await Promise.all([front.close(), cdn.close(), token.close(), registry.stop()]);
      dir.remove();
    },
  };
}

async function startCdnOn(storageRoot: string, port: number): Promise<Cdn> {
  // startCdn binds port 0; rebind on the reserved port for the registry's redirect URL.
  const cdn = await startCdn(storageRoot, '127.0.0.2');
  await cdn.close();
  await new Promise<void>((resolve) => cdn.server.listen(port, '127.0.0.2', resolve));
  // Mutated in place: a spread copy would lose the `fault` accessor.
  return Object.assign(cdn, { port, url: `http://127.0.0.2:${port}` });
}

/** Pushes `library/<name>:latest`, one layer of `bytes` random bytes (gzip cannot shrink it). */
export async function seedRandomImage(bed: Testbed, name: string, bytes: number): Promise<Image> {
  const image = singleImage(name, { payload: randomBytes(bytes), gzipLevel: 1 });
  await bed.push(`library/${name}`, image, ['latest']);
  return image;
}
