/**
 * What in a request may select a registry: containerd's `?ns=` and the Host name (for
 * configured aliases). Koa's `ctx.hostname` ignores X-Forwarded-Host unless the app is
 * configured to trust proxies, so a client cannot choose an alias by forging it.
 */
import type { Context } from 'koa';
import type { RouteHints } from '../registry-router.js';

export function routeHints(ctx: Context): RouteHints {
  return {
    ns: typeof ctx.query.ns === 'string' ? ctx.query.ns : undefined,
    host: ctx.hostname || undefined,
  };
}
