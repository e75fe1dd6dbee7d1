/**
 * The S3 adapters, apart from the package's main entry: the AWS SDK they load costs a
 * process about 22 MiB of memory, which a mirror on local disk (the default) never needs.
 * Import `@docxy/proxy-core/s3` only when the cache is in S3.
 */
export * from './cache/s3-blob-store.js';
