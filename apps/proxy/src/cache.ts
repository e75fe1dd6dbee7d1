/** Builds the cache (blob store, fills, manifest cache, repository links, access memo) from configuration. */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import {
  AccessMemo,
  RepositoryLinks,
  FillCoordinator,
  FsBlobStore,
  FsObjectStore,
  ManifestCache,
  SpaceGuard,
  filesystemSize,
  type BlobStore,
  type ObjectStore,
} from '@docxy/proxy-core';
import type { Config } from './config/schema.js';
import type { Logger } from './logger.js';

export interface Cache {
  store: BlobStore;
  fills: FillCoordinator;
  manifests: ManifestCache;
  /** Which digests belong to which repository; beside the manifests (shared through S3 by replicas). */
  links: RepositoryLinks;
  access: AccessMemo | undefined;
  /** Bytes kept before eviction (fs store), for the start-up log. */
  maxSize: number | undefined;
  /** Tells `listener` of each blob the fs store evicts (for metrics). */
  onEvict(listener: (digest: string, size: number) => void): void;
  /** Releases connections (S3 client) at shutdown. */
  close(): void;
}

export async function createCache(config: Config, logger: Logger): Promise<Cache> {
  const tmpDir = join(config.dataDir, 'tmp');
  let store: BlobStore;
  let objects: ObjectStore;
  let maxSize: number | undefined;
  let makeRoom: ((bytes: number) => Promise<number>) | undefined;
  let close = (): void => {};
  const evictListeners: Array<(digest: string, size: number) => void> = [];
  if (config.cache.store === 's3') {
    // Loaded only here: the AWS SDK is ~22 MiB of memory a local-disk mirror never uses.
    const { createS3Stores } = await import('./s3.js');
    ({ store, objects, close } = createS3Stores(config.cache.s3!));
  } else {
    await mkdir(config.dataDir, { recursive: true });
    maxSize = config.cache.maxSize ?? Math.floor((await filesystemSize(config.dataDir)) / 2);
    const fsStore = new FsBlobStore({
      root: config.dataDir,
      maxSize,
      onEvict: (digest, size) => {
        logger.info({ digest, size }, 'evicted blob');
        for (const listener of evictListeners) listener(digest, size);
      },
    });
    // The disk may lack room because something else filled it: free least-recently-used
    // blobs then, not only what lies beyond maxSize.
    makeRoom = (bytes) => fsStore.freeBytes(bytes);
    store = fsStore;
    objects = new FsObjectStore(join(config.dataDir, 'meta'), tmpDir);
  }
  const fills = new FillCoordinator({
    spoolDir: tmpDir,
    store,
    space: new SpaceGuard({ dir: tmpDir }),
    makeRoom,
    unknownSizeEstimate: config.cache.unknownSizeEstimate,
    log: (level, fields, message) => logger[level](fields, message),
  });
  // Removes leftovers of a previous run before anything else writes: the store's
  // (half-written blobs, stale multipart uploads) and the local spools, which an S3
  // store knows nothing about.
  await store.cleanup();
  await fills.cleanup();
  const access = config.auth.mode === 'passthrough' ? new AccessMemo() : undefined;
  return {
    store,
    fills,
    manifests: new ManifestCache(objects),
    links: new RepositoryLinks(objects),
    access,
    maxSize,
    onEvict: (listener) => evictListeners.push(listener),
    close,
  };
}
