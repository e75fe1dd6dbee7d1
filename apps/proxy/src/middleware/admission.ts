/**
 * Before any route: the client's address (X-Forwarded-For only from trusted proxies),
 * the IP allow/deny lists, and the per-client request rate. Liveness probes are exempt.
 */
import type { Context, Next } from 'koa';
import { RegistryError } from '@docxy/proxy-core';
import type { AccessPolicy } from '../access/policy.js';
import { clientIp } from '../access/client-ip.js';

const PROBES = new Set(['/health', '/healthz', '/readyz']);

export function admission(policy: AccessPolicy) {
  return async function admit(ctx: Context, next: Next): Promise<void> {
    const ip = clientIp(ctx.req.socket.remoteAddress ?? '', ctx.get('x-forwarded-for') || undefined, policy.trustedProxies);
    ctx.state.clientIp = ip;
    if (PROBES.has(ctx.path)) return next();
    if (!policy.ipAllowed(ip)) throw new RegistryError('DENIED', 'your address may not use this mirror');
    await next();
  };
}

/** Counts one request against the client's rate (after its identity is known). */
export function takeRequest(ctx: Context, policy: AccessPolicy): void {
  const user = ctx.state.user as string | undefined;
  const wait = policy.limiter.takeRequest(user ?? `ip:${ctx.state.clientIp as string}`, policy.limitFor(user));
  if (wait > 0)
    throw new RegistryError('TOOMANYREQUESTS', 'too many requests from this client', { headers: { 'retry-after': String(wait) } });
}
