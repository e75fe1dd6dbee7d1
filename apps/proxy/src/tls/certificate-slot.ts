/**
 * The certificate the HTTPS listener serves, swapped in place: `server.setSecureContext`
 * changes what NEW handshakes get, while established connections (a layer download in
 * flight, a keep-alive socket) keep the context they were opened with.
 */
import type https from 'node:https';
import type { ServedCertificate } from './certificate.js';

export class CertificateSlot {
  #current: ServedCertificate | undefined;
  readonly #listeners = new Set<(certificate: ServedCertificate) => void>();

  get current(): ServedCertificate | undefined {
    return this.#current;
  }

  set(certificate: ServedCertificate): void {
    this.#current = certificate;
    for (const listener of this.#listeners) listener(certificate);
  }

  /** Calls `listener` with the current certificate (if any) and every later one. */
  subscribe(listener: (certificate: ServedCertificate) => void): void {
    this.#listeners.add(listener);
    if (this.#current) listener(this.#current);
  }

  /** Serves the slot's certificate on `server`; until there is one, handshakes fail. */
  bind(server: https.Server): void {
    this.subscribe((certificate) => server.setSecureContext({ cert: certificate.chainPem, key: certificate.keyPem }));
  }
}
