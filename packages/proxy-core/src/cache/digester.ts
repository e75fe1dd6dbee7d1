/**
 * Hashes bytes as they stream and says whether they match an expected digest (and
 * length). Content is committed to a store only when this says yes.
 */
import { createHash, type Hash } from 'node:crypto';

export class Digester {
  private readonly hash: Hash;
  private readonly expectedHex: string;
  bytes = 0;

  constructor(readonly digest: string) {
    const [algorithm, hex] = digest.split(':') as [string, string];
    if (algorithm !== 'sha256' && algorithm !== 'sha512') throw new Error(`unsupported digest algorithm ${algorithm}`);
    this.hash = createHash(algorithm);
    this.expectedHex = hex;
  }

  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
  }

  /** Finalises the hash; call once. */
  verify(expectedSize?: number): { ok: boolean; actual: string } {
    const hex = this.hash.digest('hex');
    const sizeOk = expectedSize === undefined || expectedSize === this.bytes;
    return { ok: sizeOk && hex === this.expectedHex, actual: `${this.digest.split(':')[0]}:${hex}` };
  }
}

/** The digest of bytes held in memory (a manifest), with the algorithm `like` names. */
export function digestOf(data: Buffer, like: string): string {
  const algorithm = like.startsWith('sha512:') ? 'sha512' : 'sha256';
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** Blobs are cached for sha256 content only; sha512 blobs are verified and streamed through. */
export function isCacheableDigest(digest: string): boolean {
  return /^sha256:[a-f0-9]{64}$/.test(digest);
}
