/**
 * The BlobStore port: content-addressed bytes. Writers commit only when the bytes hash
 * to the digest they were opened for (and match the declared size); otherwise nothing
 * becomes visible. Adapters: filesystem (the default) and S3 (several replicas).
 */
import type { Readable, Writable } from 'node:stream';

export interface BlobInfo {
  size: number;
}

/** Inclusive byte range, already validated against the blob's size. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobWriter {
  /** Write the blob's bytes here, in order. */
  stream: Writable;
  /** Verifies digest and size, then makes the blob visible. Throws DIGEST_INVALID / SIZE_INVALID. */
  commit(): Promise<void>;
  /** Discards everything written. Safe to call after a failed commit. */
  abort(): Promise<void>;
}

export interface BlobStore {
  readonly kind: string;
  stat(digest: string): Promise<BlobInfo | undefined>;
  /** Opens the blob (or a range of it). Undefined when absent. */
  open(digest: string, range?: ByteRange): Promise<Readable | undefined>;
  write(digest: string, size?: number): Promise<BlobWriter>;
  /**
   * Adopts a local file whose bytes were already verified to hash to `digest` (the
   * fill's spool). The filesystem adapter renames it; others upload it.
   */
  importFile(digest: string, path: string, size: number): Promise<void>;
  delete(digest: string): Promise<void>;
  /** A short-lived URL a client can fetch the blob from directly, if the store has one. */
  presign?(digest: string, expiresInSeconds: number): Promise<string>;
  /** Removes leftovers of interrupted writes (called at start-up). */
  cleanup(): Promise<void>;
}
