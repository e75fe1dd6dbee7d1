/**
 * Keeps a certificate for the configured domains: serves the stored one at start, orders
 * one (HTTP-01) when none is stored or renewal is due, and checks again periodically.
 * A failed order never throws out of here: it is logged with the CA's reason (the problem
 * detail acme-client reports) and retried with backoff, while the previous certificate,
 * if any, keeps being served.
 */
import acme from 'acme-client';
import type { Logger } from '../logger.js';
import type { AcmeTransport } from './acme-http.js';
import { coversDomains, parseCertificate, type ServedCertificate } from './certificate.js';
import type { CertificateSlot } from './certificate-slot.js';
import type { CertificateStore } from './certificate-store.js';
import type { ChallengeResponder } from './challenge-responder.js';
import { nextCheckDelay, renewalDueAt, retryDelay, type RenewalPolicy } from './renewal-schedule.js';

export interface AcmeManagerOptions {
  domains: string[];
  email?: string;
  directoryUrl: string;
  store: CertificateStore;
  challenges: ChallengeResponder;
  slot: CertificateSlot;
  transport: AcmeTransport;
  logger: Logger;
  policy: RenewalPolicy;
}

const WEEK = 7 * 86_400_000;
/** How long stop() waits for an order in flight (a CA answering normally finishes well within it). */
const STOP_WAIT_MS = 10_000;

export class AcmeManager {
  readonly #options: AcmeManagerOptions;
  #client: acme.Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<void> | undefined;
  #failures = 0;
  #stopped = false;
  /** When this process last installed a certificate it ordered: the next order waits retryMin after it. */
  #issuedAt: number | undefined;

  constructor(options: AcmeManagerOptions) {
    this.#options = options;
  }

  /** Serves the stored certificate if it is usable and checks (ordering at once when needed). Never throws. */
  start(): void {
    const stored = this.#loadStored();
    if (stored) {
      this.#options.slot.set(stored);
      this.#options.logger.info(
        { domains: this.#options.domains, serial: stored.serial, notAfter: stored.notAfter.toISOString() },
        'ACME: serving the stored certificate',
      );
    }
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (!this.#inflight) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#inflight, new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))]);
    clearTimeout(timer);
  }

  #loadStored(): ServedCertificate | undefined {
    const { store, domains, logger } = this.#options;
    let stored: ServedCertificate | undefined;
    try {
      stored = store.load();
    } catch (err) {
      logger.warn({ path: store.certificatePath, reason: (err as Error).message }, 'ACME: stored certificate unusable; ordering a new one');
      return undefined;
    }
    if (!stored) return undefined;
    if (!coversDomains(stored, domains)) {
      logger.info({ domains }, 'ACME: stored certificate does not name every configured domain; ordering a new one');
      return undefined;
    }
    if (stored.notAfter.getTime() <= Date.now()) {
      logger.info({ notAfter: stored.notAfter.toISOString() }, 'ACME: stored certificate has expired; ordering a new one');
      return undefined;
    }
    return stored;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#inflight = this.#check()
        .catch((err: Error) => this.#orderFailed(err, this.#options.slot.current))
        .finally(() => (this.#inflight = undefined));
    }, delayMs);
    this.#timer.unref();
  }

  async #check(): Promise<void> {
    const { slot, policy } = this.#options;
    const current = slot.current;
    const issuedAt = this.#issuedAt;
    if (current && Date.now() < renewalDueAt(current, policy, issuedAt)) {
      const delay = nextCheckDelay(current, policy, Date.now(), Math.random(), issuedAt);
      this.#options.logger.debug(
        { renewAt: new Date(renewalDueAt(current, policy, issuedAt)).toISOString(), nextCheckInMs: delay },
        'ACME: certificate not due for renewal',
      );
      this.#schedule(delay);
      return;
    }
    let issued: ServedCertificate;
    try {
      issued = await this.#options.transport.run(() => this.#order(current));
    } catch (err) {
      this.#orderFailed(err as Error, current);
      return;
    }
    if (this.#stopped) return;
    this.#failures = 0;
    try {
      this.#options.store.save(issued);
    } catch (err) {
      // Served anyway; the next start orders again.
      this.#options.logger.error({ reason: (err as Error).message }, 'ACME: cannot store the new certificate');
    }
    slot.set(issued);
    this.#issuedAt = Date.now();
    this.#options.logger.info(
      { domains: this.#options.domains, serial: issued.serial, notAfter: issued.notAfter.toISOString(), renewal: current !== undefined },
      'ACME: certificate issued and installed',
    );
    this.#schedule(nextCheckDelay(issued, policy, this.#issuedAt, Math.random(), this.#issuedAt));
  }

  async #order(current: ServedCertificate | undefined): Promise<ServedCertificate> {
    const { domains, email, challenges, logger, directoryUrl } = this.#options;
    logger.info({ domains, directoryUrl, renewal: current !== undefined }, 'ACME: ordering a certificate');
    const client = await this.#acmeClient();
    const key = await acme.crypto.createPrivateEcdsaKey();
    // The subject CN is limited to 64 characters; the SANs carry the names either way.
    const commonName = domains[0]!.length <= 64 ? domains[0] : undefined;
    const [, csr] = await acme.crypto.createCsr({ commonName, altNames: domains }, key);
    const chain = await client.auto({
      csr,
      email,
      termsOfServiceAgreed: true,
      challengePriority: ['http-01'],
      // acme-client's self-check fetches the challenge through port 80 of the public name,
      // which NAT or a firewall may not loop back; the CA's own check is what counts.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => challenges.add(challenge.token, keyAuthorization),
      challengeRemoveFn: async (_authz, challenge) => challenges.remove(challenge.token),
    });
    return parseCertificate(chain, key.toString());
  }

  async #acmeClient(): Promise<acme.Client> {
    if (!this.#client) {
      const accountKey = await this.#options.store.accountKey(() => acme.crypto.createPrivateEcdsaKey());
      // Status polls: 0.5 s doubling to 10 s, about a minute and a half in all.
      this.#client = new acme.Client({
        directoryUrl: this.#options.directoryUrl,
        accountKey,
        backoffAttempts: 12,
        backoffMin: 500,
        backoffMax: 10_000,
      });
    }
    return this.#client;
  }

  #orderFailed(err: Error, current: ServedCertificate | undefined): void {
    if (this.#stopped) return;
    this.#failures += 1;
    const delay = retryDelay(this.#failures, this.#options.policy, Math.random());
    const remaining = current ? current.notAfter.getTime() - Date.now() : 0;
    // Only the message: acme-client's error objects carry the signed request in their config.
    this.#options.logger[remaining < WEEK ? 'error' : 'warn'](
      {
        domains: this.#options.domains,
        reason: err.message,
        failures: this.#failures,
        retryInMs: delay,
        serving: current ? { serial: current.serial, notAfter: current.notAfter.toISOString() } : null,
      },
      current ? 'ACME: renewal failed; still serving the current certificate' : 'ACME: order failed; HTTPS has no certificate yet',
    );
    this.#schedule(delay);
  }
}
