/**
 * When to renew and when to look again. Pure functions of the certificate, the clock and
 * a random source, so the policy is testable without waiting for a certificate to age.
 */
import type { ServedCertificate } from './certificate.js';

const DAY = 86_400_000;
/** setTimeout fires at once beyond this (about 24.8 days). */
const MAX_TIMER = 2 ** 31 - 1;

/**
 * The earliest point of a certificate's life at which it is due, as a fraction of its
 * lifetime after notBefore, whatever `renewBefore` says. A `renewBefore` as long as the
 * lifetime would make every freshly issued certificate due at once, and the mirror would
 * re-order in a loop until the CA rate-limits it. A third keeps Let's Encrypt's 6-day
 * certificates to 3.5 orders a week, under its 5 duplicate certificates a week; the default
 * (a third of the lifetime left) lies well after it.
 */
export const EARLIEST_RENEWAL = 1 / 3;

export interface RenewalPolicy {
  /** Renew when this little validity is left; undefined: 30 days, at most a third of the lifetime. */
  renewBeforeMs?: number;
  checkIntervalMs: number;
  /** Also the least wait between an issuance and the next order. */
  retryMinMs: number;
  retryMaxMs: number;
}

/**
 * The moment renewal is due: `renewBefore` ahead of expiry, never before EARLIEST_RENEWAL of
 * the lifetime, and, for a certificate this process issued at `issuedAt`, never sooner than
 * `retryMin` after that (a CA handing out certificates already due cannot make it loop either).
 */
export function renewalDueAt(certificate: ServedCertificate, policy: RenewalPolicy, issuedAt?: number): number {
  const notBefore = certificate.notBefore.getTime();
  const notAfter = certificate.notAfter.getTime();
  const lifetime = notAfter - notBefore;
  // Let's Encrypt's 90-day certificates renew with 30 days left; short-lived ones (6 days)
  // with a third of their life left instead of constantly.
  const before = policy.renewBeforeMs ?? Math.min(30 * DAY, lifetime / 3);
  const due = Math.max(notAfter - before, notBefore + lifetime * EARLIEST_RENEWAL);
  return issuedAt === undefined ? due : Math.max(due, issuedAt + policy.retryMinMs);
}

/**
 * Wait before the next check: until renewal is due, at most `checkIntervalMs`, shortened at
 * random by up to 10% so that many mirrors started together do not call the CA together.
 */
export function nextCheckDelay(
  certificate: ServedCertificate,
  policy: RenewalPolicy,
  now: number,
  random: number,
  issuedAt?: number,
): number {
  const untilDue = Math.max(0, renewalDueAt(certificate, policy, issuedAt) - now);
  return Math.min(MAX_TIMER, Math.round(Math.min(untilDue, policy.checkIntervalMs) * (1 - 0.1 * random)));
}

/** Wait after the `failures`-th failed order in a row (1, 2, …): doubling from retryMin to retryMax, less up to 20% at random. */
export function retryDelay(failures: number, policy: RenewalPolicy, random: number): number {
  const base = Math.min(policy.retryMaxMs, policy.retryMinMs * 2 ** Math.min(failures - 1, 40));
  return Math.min(MAX_TIMER, Math.round(base * (1 - 0.2 * random)));
}
