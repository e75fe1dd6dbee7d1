/**
 * A certificate chain and its private key as served: checked to belong together (a
 * half-replaced pair is refused, not served) and read for what the renewal logic needs.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';

export interface ServedCertificate {
  /** Leaf first, then intermediates (PEM). */
  chainPem: string;
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
  /** Hex serial of the leaf, for logs. */
  serial: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Throws with a readable reason when the pair is unusable. */
export function parseCertificate(chainPem: string, keyPem: string): ServedCertificate {
  const blocks = chainPem.match(PEM_CERTIFICATE);
  if (!blocks) throw new Error('no PEM certificate found');
  const leaf = new X509Certificate(blocks[0]!);
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new Error(`unreadable private key: ${(err as Error).message}`);
  }
  if (!leaf.checkPrivateKey(key)) throw new Error('the private key does not match the certificate');
  return {
    chainPem: `${blocks.join('\n')}\n`,
    keyPem,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    serial: leaf.serialNumber,
  };
}

/** Does the leaf name every one of `domains` (exactly or by a wildcard)? */
export function coversDomains(certificate: ServedCertificate, domains: string[]): boolean {
  const leaf = new X509Certificate(certificate.chainPem.match(PEM_CERTIFICATE)![0]!);
  return domains.every((domain) => leaf.checkHost(domain, { subject: 'never' }) !== undefined);
}
