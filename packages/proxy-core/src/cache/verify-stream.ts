/**
 * Verifies a blob streamed straight through (when it is not being cached): bytes flow
 * as they come, but the last chunk is held back until the digest checks out. On a
 * mismatch the stream fails instead, so the client sees a failed transfer.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { RegistryError } from '../errors.js';
import { Digester } from './digester.js';

export function verifyingStream(body: Readable, digest: string, size: number | undefined): Readable {
  const digester = new Digester(digest);
  let held: Buffer | undefined;
  const verify = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      digester.update(chunk);
      const previous = held;
      held = chunk;
      done(null, previous);
    },
    flush(done: TransformCallback) {
      if (!digester.verify(size).ok) {
        done(new RegistryError('DIGEST_INVALID', 'upstream content does not match its digest', { status: 502 }));
        return;
      }
      done(null, held);
    },
  });
  verify.on('error', () => {});
  body.on('error', (err) => verify.destroy(err));
  verify.on('close', () => body.destroy());
  return body.pipe(verify);
}
