/**
 * Where the HTTPS listener's certificate comes from: `tls` files (reloaded on change) or
 * ACME (`acme`: ordered, stored, renewed, with the port-80 listener the CA validates
 * through). Either way the result is a CertificateSlot the server is bound to.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { CertificateSlot } from './certificate-slot.js';
import { watchCertificateFiles, type FileCertificates } from './file-certificates.js';

export interface HttpsCertificates {
  slot: CertificateSlot;
  /** The ACME HTTP listener's address (acme only). */
  httpUrl?: string;
  stop(): Promise<void>;
}

/**
 * The certificate source for `config`, or undefined for plain HTTP. `tls` files are read
 * now (an unusable pair is a start-up error); ACME starts its HTTP listener now (a port
 * that cannot be bound is a start-up error) and orders in the background.
 */
export async function startHttpsCertificates(config: Config, logger: Logger): Promise<HttpsCertificates | undefined> {
  const slot = new CertificateSlot();
  if (config.tls) {
    let files: FileCertificates;
    try {
      files = watchCertificateFiles({ cert: config.tls.cert, key: config.tls.key, slot, logger });
    } catch (err) {
      throw new Error(`tls: cannot serve ${config.tls.cert} with ${config.tls.key}: ${(err as Error).message}`);
    }
    return { slot, stop: async () => files.stop() };
  }
  const settings = config.acme;
  if (!settings) return undefined;
  // Loaded only when configured: the ACME client and its crypto libraries are several MiB
  // of memory a mirror without it never needs.
  const { startAcmeCertificates } = await import('./acme-certificates.js');
  return startAcmeCertificates(config, settings, slot, logger);
}
