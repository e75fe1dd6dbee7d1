/**
 * `/auth/token` (passthrough mode): relays a client's token request, GET or OAuth2
 * POST, to the token service of the registry its scopes name.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { parseScope, type TokenRequest } from '@docxy/proxy-core';
import type { RegistryRouter, RouteHints, RoutedRegistry } from '../registry-router.js';
import type { ClientAuth } from '../auth/client-auth.js';
import type { AccessPolicy } from '../access/policy.js';
import { takeRequest } from '../middleware/admission.js';
import { abortOnClose } from '../http/abort-on-close.js';
import { readForm } from '../http/read-form.js';
import { routeHints } from '../http/route-hints.js';

function registryFor(router: RegistryRouter, params: URLSearchParams, hints: RouteHints): RoutedRegistry {
  for (const raw of params.getAll('scope').flatMap((s) => s.split(' '))) {
    const scope = parseScope(raw);
    if (scope?.type === 'repository') return router.resolve(scope.name, hints).registry;
  }
  return router.select(hints);
}

async function relay(
  ctx: Context,
  router: RegistryRouter,
  auth: ClientAuth,
  policy: AccessPolicy,
  request: Omit<TokenRequest, 'mapName'>,
): Promise<void> {
  // Token requests count against the client's address (slows password guessing too).
  takeRequest(ctx, policy);
  const hints = routeHints(ctx);
  const registry = registryFor(router, request.params, hints);
  // Scopes are the client's view of names: map each to this registry's, drop the others.
  const mapName = (name: string): string | undefined => {
    try {
      const route = router.resolve(name, hints);
      return route.registry === registry ? route.upstreamName : undefined;
    } catch {
      return undefined;
    }
  };
  const answer = await auth.token(request, registry, mapName);
  ctx.status = answer.status;
  ctx.type = answer.contentType;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = answer.body;
}

export function tokenRoutes(router: RegistryRouter, auth: ClientAuth, policy: AccessPolicy): Router {
  const routes = new Router();
  routes.get('/auth/token', (ctx) =>
    relay(ctx, router, auth, policy, {
      method: 'GET',
      params: new URLSearchParams(ctx.querystring),
      authorization: ctx.get('authorization') || undefined,
      signal: abortOnClose(ctx),
    }),
  );
  routes.post('/auth/token', async (ctx) =>
    relay(ctx, router, auth, policy, {
      method: 'POST',
      params: await readForm(ctx),
      authorization: ctx.get('authorization') || undefined,
      signal: abortOnClose(ctx),
    }),
  );
  return routes;
}
