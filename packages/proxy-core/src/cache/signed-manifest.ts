/**
 * The bytes a manifest's digest covers. For every type but one that is the body. A
 * signed schema1 manifest (`…manifest.v1+prettyjws`, what distribution converts to for
 * clients that accept no schema2/OCI type) is a JWS whose digest covers its payload
 * without the `signatures` block: the first `formatLength` bytes of the body followed by
 * the signature's base64url `formatTail` (docker/libtrust's "pretty JWS" format).
 */
import { MEDIA } from './manifest-types.js';

interface ProtectedHeader {
  formatLength?: unknown;
  formatTail?: unknown;
}

export function digestedBytes(body: Buffer, mediaType: string): Buffer | undefined {
  if (mediaType !== MEDIA.dockerSchema1Signed) return body;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { signatures?: Array<{ protected?: unknown }> };
    const encoded = parsed.signatures?.[0]?.protected;
    if (typeof encoded !== 'string') return undefined;
    const header = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as ProtectedHeader;
    const { formatLength, formatTail } = header;
    if (typeof formatLength !== 'number' || typeof formatTail !== 'string' || formatLength < 0 || formatLength > body.length)
      return undefined;
    return Buffer.concat([body.subarray(0, formatLength), Buffer.from(formatTail, 'base64url')]);
  } catch {
    return undefined;
  }
}
