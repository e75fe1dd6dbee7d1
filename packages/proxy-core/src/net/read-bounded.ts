/**
 * Reads a whole upstream body that must be small (a manifest, a token answer, an error
 * body). Past `limit` bytes it stops reading and throws the caller's error: a body is
 * never silently truncated into something that parses (or hashes) as a smaller one.
 */
import type { Readable } from 'node:stream';

export async function readBounded(body: Readable | null, limit: number, tooLarge: (limit: number) => Error): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) {
      body.destroy();
      throw tooLarge(limit);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}
