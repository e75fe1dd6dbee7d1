/**
 * Verifies a blob streamed straight through (when it is not being cached): bytes flow
 * as they come, but the last piece is held back until the whole blob's digest (and
 * length) checks out. On a mismatch the stream fails instead, so the client sees a
 * failed transfer, never a clean end of wrong content.
 *
 * With a `range`, the whole blob is still read and hashed (a range alone cannot be
 * verified); only the range's bytes are passed on, the last of them held back too.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { RegistryError } from '../errors.js';
import type { ByteRange } from './blob-store.js';
import { Digester } from './digester.js';

export interface VerifyOptions {
  /** Pass on only these bytes (the whole blob is still read and hashed). */
  range?: ByteRange;
  /** Called with the blob's length once it verified. */
  onVerified?: (bytes: number) => void;
}

export function verifyingStream(body: Readable, digest: string, size: number | undefined, options: VerifyOptions = {}): Readable {
  const { range, onVerified } = options;
  const digester = new Digester(digest);
  let offset = 0;
  let held: Buffer | undefined;
  const verify = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      digester.update(chunk);
      const piece = range ? sliceOf(chunk, offset, range) : chunk;
      offset += chunk.length;
      if (!piece || piece.length === 0) return done();
      const previous = held;
      held = piece;
      done(null, previous);
    },
    flush(done: TransformCallback) {
      if (!digester.verify(size).ok) {
        done(new RegistryError('DIGEST_INVALID', 'upstream content does not match its digest', { status: 502 }));
        return;
      }
      onVerified?.(digester.bytes);
      done(null, held);
    },
  });
  verify.on('error', () => {});
  body.on('error', (err) => verify.destroy(err));
  verify.on('close', () => body.destroy());
  return body.pipe(verify);
}

/** The part of `chunk` (which starts at `offset` in the blob) that lies in `range`. */
function sliceOf(chunk: Buffer, offset: number, range: ByteRange): Buffer | undefined {
  const start = Math.max(range.start - offset, 0);
  const end = Math.min(range.end + 1 - offset, chunk.length);
  return start < end ? chunk.subarray(start, end) : undefined;
}
