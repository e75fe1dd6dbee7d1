/**
 * Builds the seed images the tests pull: real tar layers, image configs with matching
 * diff_ids, Docker and OCI manifests, a Docker manifest list and an OCI index.
 */
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { tarOf } from './tar.js';

export const MT = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export interface Blob {
  digest: string;
  data: Buffer;
}

export interface Manifest {
  digest: string;
  mediaType: string;
  data: Buffer;
}

export interface Image {
  /** Every blob (configs and layers) the image needs. */
  blobs: Blob[];
  /** Child manifests first, the top-level manifest last. */
  manifests: Manifest[];
  top: Manifest;
}

const blob = (data: Buffer): Blob => ({ digest: sha256(data), data });

function manifestOf(value: unknown, mediaType: string): Manifest {
  const data = Buffer.from(JSON.stringify(value));
  return { digest: sha256(data), mediaType, data };
}

function platformImage(label: string, arch: string, oci: boolean, payload: Buffer, gzipLevel = 6): { blobs: Blob[]; manifest: Manifest } {
  const tar = tarOf([{ name: `${label}-${arch}.txt`, content: payload }]);
  const layer = blob(gzipSync(tar, { level: gzipLevel }));
  const config = blob(
    Buffer.from(
      JSON.stringify({
        architecture: arch,
        os: 'linux',
        config: { Cmd: ['/bin/sh'] },
        rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
        history: [{ created_by: label }],
      }),
    ),
  );
  const manifest = manifestOf(
    {
      schemaVersion: 2,
      mediaType: oci ? MT.ociManifest : MT.dockerManifest,
      config: { mediaType: oci ? MT.ociConfig : MT.dockerConfig, size: config.data.length, digest: config.digest },
      layers: [{ mediaType: oci ? MT.ociLayer : MT.dockerLayer, size: layer.data.length, digest: layer.digest }],
    },
    oci ? MT.ociManifest : MT.dockerManifest,
  );
  return { blobs: [config, layer], manifest };
}

export function singleImage(label: string, options: { oci?: boolean; payload?: Buffer; gzipLevel?: number } = {}): Image {
  const image = platformImage(
    label,
    'amd64',
    options.oci ?? false,
    options.payload ?? Buffer.from(`${label} ${randomBytes(8).toString('hex')}\n`),
    options.gzipLevel,
  );
  return { blobs: image.blobs, manifests: [image.manifest], top: image.manifest };
}

export function multiPlatformImage(label: string, options: { oci: boolean }): Image {
  const archs = ['amd64', 'arm64'];
  const children = archs.map((arch) =>
    platformImage(label, arch, options.oci, Buffer.from(`${label} on ${arch} ${randomBytes(8).toString('hex')}\n`)),
  );
  const mediaType = options.oci ? MT.ociIndex : MT.dockerList;
  const top = manifestOf(
    {
      schemaVersion: 2,
      mediaType,
      manifests: children.map((c, i) => ({
        mediaType: c.manifest.mediaType,
        size: c.manifest.data.length,
        digest: c.manifest.digest,
        platform: { architecture: archs[i], os: 'linux' },
      })),
    },
    mediaType,
  );
  return { blobs: children.flatMap((c) => c.blobs), manifests: [...children.map((c) => c.manifest), top], top };
}
