/**
 * `/auth/token` (passthrough mode): relays a client's token request, GET or OAuth2
 * POST, to the token service of the registry its scopes name.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { parseScope, type TokenRequest } from '@docxy/proxy-core';
import type { RegistryRouter, RoutedRegistry } from '../registry-router.js';
import { abortOnClose } from '../http/abort-on-close.js';
import { readForm } from '../http/read-form.js';

function registryFor(router: RegistryRouter, params: URLSearchParams, ns: string | undefined): RoutedRegistry {
  for (const raw of params.getAll('scope').flatMap((s) => s.split(' '))) {
    const scope = parseScope(raw);
    if (scope?.type === 'repository') return router.resolve(scope.name, ns).registry;
  }
  return ns ? router.resolve('library/x', ns).registry : router.default;
}

async function relay(ctx: Context, router: RegistryRouter, request: TokenRequest): Promise<void> {
  const ns = typeof ctx.query.ns === 'string' ? ctx.query.ns : undefined;
  const registry = registryFor(router, request.params, ns);
  const answer = await registry.tokens.relay(request);
  ctx.status = answer.status;
  ctx.type = answer.contentType;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = answer.body;
}

export function tokenRoutes(router: RegistryRouter): Router {
  const routes = new Router();
  routes.get('/auth/token', (ctx) =>
    relay(ctx, router, {
      method: 'GET',
      params: new URLSearchParams(ctx.querystring),
      authorization: ctx.get('authorization') || undefined,
      signal: abortOnClose(ctx),
    }),
  );
  routes.post('/auth/token', async (ctx) =>
    relay(ctx, router, {
      method: 'POST',
      params: await readForm(ctx),
      authorization: ctx.get('authorization') || undefined,
      signal: abortOnClose(ctx),
    }),
  );
  return routes;
}
