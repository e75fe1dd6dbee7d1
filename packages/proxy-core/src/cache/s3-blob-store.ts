/**
 * The S3 BlobStore, for several replicas sharing one bucket. Blobs live at
 * `<prefix>blobs/sha256/<hex>`. A write becomes visible only when its bytes hashed to
 * the digest: small blobs are one PutObject after verification; larger ones are a
 * multipart upload completed only after verification (aborted otherwise), so no
 * replica ever sees a half-written or wrong blob.
 */
import { createReadStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { Transform, Writable, type Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type ListMultipartUploadsCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { RegistryError } from '../errors.js';
import { Digester, isCacheableDigest } from './digester.js';
import type { BlobInfo, BlobStore, BlobWriter, ByteRange } from './blob-store.js';

export interface S3StoreOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix, "" or ending in "/". */
  prefix?: string;
  /** Multipart part size; S3 needs ≥ 5 MiB for all but the last part. */
  partSize?: number;
  /** Incomplete multipart uploads older than this are aborted by cleanup(). */
  staleUploadMs?: number;
}

/** Passes on only the bytes of `range` (inclusive) from a stream of the whole object. */
function sliceOf(range: ByteRange): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const start = Math.max(range.start - offset, 0);
      const end = Math.min(range.end + 1 - offset, chunk.length);
      offset += chunk.length;
      done(null, start < end ? chunk.subarray(start, end) : undefined);
    },
  });
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

export class S3BlobStore implements BlobStore {
  readonly kind = 's3';
  private readonly prefix: string;
  private readonly partSize: number;

  constructor(private readonly options: S3StoreOptions) {
    this.prefix = options.prefix ?? '';
    this.partSize = options.partSize ?? 8 * 1024 * 1024;
  }

  keyOf(digest: string): string {
    if (!isCacheableDigest(digest)) throw new RegistryError('DIGEST_INVALID', 'not a sha256 digest');
    return `${this.prefix}blobs/sha256/${digest.slice('sha256:'.length)}`;
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    try {
      const head = await this.options.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(digest) }));
      return { size: head.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async open(digest: string, range?: ByteRange): Promise<Readable | undefined> {
    try {
      const answer = await this.options.client.send(
        new GetObjectCommand({
          Bucket: this.options.bucket,
          Key: this.keyOf(digest),
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
      const body = answer.Body as Readable;
      // Some S3-compatible servers answer a range with the whole object (s3rver does for
      // bytes=0-0): then cut the range out here.
      const whole = range && answer.ContentLength !== undefined && answer.ContentLength !== range.end - range.start + 1;
      return whole ? body.pipe(sliceOf(range)) : body;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async write(digest: string, size?: number): Promise<BlobWriter> {
    const { client, bucket } = this.options;
    const key = this.keyOf(digest);
    const digester = new Digester(digest);
    const partSize = this.partSize;
    let buffered: Buffer[] = [];
    let bufferedBytes = 0;
    let uploadId: string | undefined;
    const parts: Array<{ ETag: string | undefined; PartNumber: number }> = [];

    const uploadPart = async (body: Buffer): Promise<void> => {
      uploadId ??= (
        await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: 'application/octet-stream' }))
      ).UploadId;
      const PartNumber = parts.length + 1;
      const answer = await client.send(
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber, Body: body, ContentLength: body.length }),
      );
      parts.push({ ETag: answer.ETag, PartNumber });
    };
    const takeBuffer = (): Buffer => {
      const body = Buffer.concat(buffered);
      buffered = [];
      bufferedBytes = 0;
      return body;
    };
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        digester.update(chunk);
        buffered.push(chunk);
        bufferedBytes += chunk.length;
        if (bufferedBytes < partSize) return done();
        uploadPart(takeBuffer()).then(() => done(), done);
      },
    });
    const abort = async (): Promise<void> => {
      stream.destroy();
      if (uploadId) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => {});
      uploadId = undefined;
    };
    return {
      stream,
      abort,
      commit: async () => {
        if (!stream.writableFinished) await new Promise<void>((resolve, reject) => stream.once('error', reject).end(() => resolve()));
        const { ok } = digester.verify(size);
        if (!ok) {
          await abort();
          throw new RegistryError(
            size !== undefined && digester.bytes !== size ? 'SIZE_INVALID' : 'DIGEST_INVALID',
            'content does not match its digest',
          );
        }
        const rest = takeBuffer();
        if (!uploadId) {
          await client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: rest,
              ContentLength: rest.length,
              ContentType: 'application/octet-stream',
            }),
          );
          return;
        }
        if (rest.length > 0 || parts.length === 0) await uploadPart(rest);
        await client.send(
          new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
        );
      },
    };
  }

  /** Uploads a verified spool file (hashing it again on the way), then removes it, uploaded or not. */
  async importFile(digest: string, path: string, size: number): Promise<void> {
    let writer: BlobWriter | undefined;
    try {
      writer = await this.write(digest, size);
      const { stream } = writer;
      for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
        if (!stream.write(chunk)) await new Promise((resolve) => stream.once('drain', resolve));
      }
      await writer.commit();
    } catch (err) {
      await writer?.abort();
      throw err;
    } finally {
      await unlink(path).catch(() => {});
    }
  }

  async delete(digest: string): Promise<void> {
    await this.options.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(digest) }));
  }

  presign(digest: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.options.client, new GetObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(digest) }), {
      expiresIn: expiresInSeconds,
    });
  }

  /** Aborts multipart uploads left by crashed replicas (older than staleUploadMs). */
  async cleanup(): Promise<void> {
    const cutoff = Date.now() - (this.options.staleUploadMs ?? 24 * 3600_000);
    let listing: ListMultipartUploadsCommandOutput;
    try {
      listing = await this.options.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.options.bucket, Prefix: `${this.prefix}blobs/` }),
      );
    } catch {
      return; // Not every S3-compatible server lists uploads; bucket lifecycle rules cover it there.
    }
    for (const upload of listing.Uploads ?? []) {
      if (upload.Initiated && upload.Initiated.getTime() < cutoff && upload.Key && upload.UploadId) {
        await this.options.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.options.bucket, Key: upload.Key, UploadId: upload.UploadId }))
          .catch(() => {});
      }
    }
  }
}

/** Small whole objects (manifests, tag records) in the same bucket, under `<prefix>meta/`. */
export class S3ObjectStore {
  constructor(private readonly options: { client: S3Client; bucket: string; prefix?: string }) {}

  private key(key: string): string {
    return `${this.options.prefix ?? ''}meta/${key}`;
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      const answer = await this.options.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.key(key) }));
      return Buffer.from(await answer.Body!.transformToByteArray());
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.options.client.send(
      new PutObjectCommand({ Bucket: this.options.bucket, Key: this.key(key), Body: data, ContentLength: data.length }),
    );
  }

  async delete(key: string): Promise<void> {
    await this.options.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.key(key) }));
  }
}
