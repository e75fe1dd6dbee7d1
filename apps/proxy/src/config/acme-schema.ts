/**
 * `acme`: built-in certificates (ACME HTTP-01, see src/tls/). One certificate covers every
 * name in `domains`; the CA connects to `http://<domain>/.well-known/acme-challenge/…` on
 * port 80, which `httpListen` must receive. Not for replicas behind a load balancer: the
 * fleet terminates TLS at the ALB.
 */
import { z } from 'zod';
import { durationMs } from './units.js';

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/, 'expected "host:port" (IPv6 in brackets)');
/** A DNS name (HTTP-01 cannot prove wildcards or IP addresses). */
const domainName = z
  .string()
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/,
    'a lower-case DNS name such as "mirror.example.com" (no wildcard, no IP address)',
  );

export const acmeSchema = z
  .strictObject({
    /** Names on the certificate; the first is the default public URL's host. */
    domains: z.array(domainName).min(1).max(100),
    /** Contact address given to the CA (expiry notices). */
    email: z.email().optional(),
    /** ACME directory; default Let's Encrypt production (or staging with `staging: true`). */
    directoryUrl: z.url({ protocol: /^https$/ }).optional(),
    /** Let's Encrypt's staging directory (untrusted certificates, generous rate limits). */
    staging: z.boolean().default(false),
    /** PEM file of extra CAs trusted for the ACME server's own HTTPS (a private ACME server). */
    caBundle: z.string().min(1).optional(),
    /** The HTTP listener: ACME challenges, /healthz, /health; everything else redirects to HTTPS. */
    httpListen: hostPort.default('0.0.0.0:80'),
    /**
     * Renew when this little validity is left; default 30 days, at most a third of the
     * certificate's lifetime. Never due before a third of the lifetime has passed, whatever
     * this says (see EARLIEST_RENEWAL in src/tls/renewal-schedule.ts).
     */
    renewBefore: durationMs.optional(),
    /** How often the certificate's age is checked (each wait shortened by up to 10%, at random). */
    checkInterval: durationMs.prefault('12h'),
    /** A failed order is retried after `retryMin`, doubling up to `retryMax`; no order comes sooner than `retryMin` after an issuance. */
    retryMin: durationMs.prefault('1m'),
    retryMax: durationMs.prefault('1h'),
  })
  .refine((acme) => !(acme.staging && acme.directoryUrl), {
    message: 'give either directoryUrl or staging: true, not both',
    path: ['staging'],
  })
  .refine((acme) => acme.checkInterval > 0 && acme.retryMin > 0 && acme.retryMax >= acme.retryMin, {
    message: 'checkInterval and retryMin must be positive, retryMax at least retryMin',
    path: ['retryMax'],
  })
  .optional();
