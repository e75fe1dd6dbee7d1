/**
 * `/auth/token`: a client's token request, GET or OAuth2 POST. Its repository scopes
 * must all name one registry (a token for two registries would have to carry one
 * registry's credentials to the other). Passthrough mode relays it to that registry's
 * token service, with the client's credentials only if they belong to that registry.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { RegistryError, parseScope } from '@docxy/proxy-core';
import type { RegistryRouter, RouteHints, RoutedRegistry } from '../registry-router.js';
import type { ClientAuth, ClientTokenRequest } from '../auth/client-auth.js';
import type { AccessPolicy } from '../access/policy.js';
import { takeRequest } from '../middleware/admission.js';
import { abortOnClose } from '../http/abort-on-close.js';
import { readForm } from '../http/read-form.js';
import { routeHints } from '../http/route-hints.js';

/** The one registry the scopes name (a bad or unknown name fails the request), else the hinted or default one. */
function registryFor(router: RegistryRouter, params: URLSearchParams, hints: RouteHints): RoutedRegistry {
  const named = new Set<RoutedRegistry>();
  for (const raw of params.getAll('scope').flatMap((s) => s.split(' '))) {
    const scope = parseScope(raw);
    if (scope?.type === 'repository') named.add(router.resolve(scope.name, hints).registry);
  }
  if (named.size > 1)
    throw new RegistryError('DENIED', 'a token request may name repositories of one registry only', {
      detail: { registries: [...named].map((r) => r.upstream.name) },
    });
  return named.values().next().value ?? router.select(hints);
}

async function relay(
  ctx: Context,
  router: RegistryRouter,
  auth: ClientAuth,
  policy: AccessPolicy,
  request: ClientTokenRequest,
): Promise<void> {
  // Token requests count against the client's address (slows password guessing too).
  takeRequest(ctx, policy);
  const hints = routeHints(ctx);
  const registry = registryFor(router, request.params, hints);
  // Scopes are the client's view of names: map each to this registry's.
  const mapName = (name: string): string | undefined => router.resolve(name, hints).upstreamName;
  const answer = await auth.token(request, { registry, login: router.loginRegistry(hints), mapName });
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
