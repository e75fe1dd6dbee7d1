/** S3 adapters for several replicas sharing one bucket (blobs and manifests). */
import { S3Client } from '@aws-sdk/client-s3';
import type { BlobStore, ObjectStore } from '@docxy/proxy-core';
import { S3BlobStore, S3ObjectStore } from '@docxy/proxy-core/s3';
import type { Config } from './config/schema.js';

export function createS3Stores(options: NonNullable<Config['cache']['s3']>): { store: BlobStore; objects: ObjectStore; close(): void } {
  const client = new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    // Explicit keys, else the SDK's default chain (instance/task role on AWS).
    credentials:
      options.accessKeyId && options.secretAccessKey
        ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
        : undefined,
    // S3-compatible servers (MinIO, s3rver, ...) do not all speak the newer checksum headers.
    ...(options.endpoint
      ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }
      : {}),
  });
  const target = { client, bucket: options.bucket, prefix: options.prefix };
  return { store: new S3BlobStore(target), objects: new S3ObjectStore(target), close: () => client.destroy() };
}
