/** RS256 JWTs with an x5c header, the form distribution's token auth verifies. */
import { sign } from 'node:crypto';
import type { SigningCert } from './pki.js';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export function signJwt(claims: Record<string, unknown>, cert: SigningCert): string {
  const header = { alg: 'RS256', typ: 'JWT', x5c: [cert.certDer.toString('base64')] };
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${sign('RSA-SHA256', Buffer.from(input), cert.key).toString('base64url')}`;
}
