/** S3 adapters for several replicas sharing one bucket. */
import type { BlobStore, ObjectStore } from '@docxy/proxy-core';
import type { Config } from './config/schema.js';

export function createS3Stores(_options: NonNullable<Config['cache']['s3']>): { store: BlobStore; objects: ObjectStore } {
  throw new Error('S3 store not implemented yet');
}
