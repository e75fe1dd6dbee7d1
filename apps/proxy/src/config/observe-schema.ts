/** `metrics`: what the mirror exposes about itself (Prometheus metrics, status page). */
import { z } from 'zod';

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/, 'expected "host:port" (IPv6 in brackets)');

/** Paths the mirror serves itself; the metrics path must not shadow them. */
const RESERVED = /^\/(v2|auth|health|healthz|readyz|-)(\/|$)|^\/$/;

export const metricsSchema = z
  .strictObject({
    /** Serve Prometheus metrics at `path`. They carry registry names, never repository names. */
    enabled: z.boolean().default(true),
    /** A separate listener for metrics ("127.0.0.1:9090"); then `path` is served only there. */
    listen: hostPort.optional(),
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9._~/-]+$/, 'a path such as "/metrics"')
      .refine((path) => !RESERVED.test(path), 'this path is served by the mirror itself')
      .default('/metrics'),
    /** The page at `/` for browsers (Accept: text/html) and its figures at `/-/stats`. */
    statusPage: z.boolean().default(true),
    /**
     * Show the last pulls (registry, repository and tag; never who pulled) on the status page.
     * The page is open to everyone the IP lists let in, and repository names can be
     * confidential, so by default only pulls that needed no login are listed (none when
     * every client must log in); `true` lists every pull, `false` none (see recentPullsPolicy).
     */
    recentPulls: z.boolean().optional(),
  })
  .prefault({});

/**
 * Which pulls the status page lists: `all` or `none` as configured; unset, `no-login`
 * (pulls anyone could have made without logging in), or `none` when every client must
 * log in (proxy mode, `anonymous: false`).
 */
export type RecentPullsPolicy = 'all' | 'no-login' | 'none';

export function recentPullsPolicy(config: {
  metrics: { recentPulls?: boolean };
  auth: { mode: string; anonymous: boolean };
}): RecentPullsPolicy {
  if (config.metrics.recentPulls !== undefined) return config.metrics.recentPulls ? 'all' : 'none';
  return config.auth.mode === 'proxy' && !config.auth.anonymous ? 'none' : 'no-login';
}
