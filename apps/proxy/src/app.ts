/**
 * The Koa application, built from its dependencies (no listening, no globals), so
 * tests drive it in-process and `main.ts` stays a thin entry point.
 */
import Koa from 'koa';
import { RegistryError } from '@docxy/proxy-core';
import type { Logger } from './logger.js';
import type { Observability } from './observe/observability.js';
import type { RegistryRouter } from './registry-router.js';
import type { ClientAuth } from './auth/client-auth.js';
import type { AccessPolicy } from './access/policy.js';
import { admission } from './middleware/admission.js';
import { accessLog } from './middleware/access-log.js';
import { errorRenderer } from './middleware/errors.js';
import { healthRoutes } from './routes/health.js';
import { tokenRoutes } from './routes/token.js';
import { registryApi } from './routes/registry-api.js';

export interface AppDeps {
  router: RegistryRouter;
  auth: ClientAuth;
  policy: AccessPolicy;
  publicUrl: URL;
  logger: Logger;
  observability: Observability;
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  // Errors are rendered by errorRenderer and logged by accessLog; Koa's default
  // handler would print them to stderr a second time.
  app.silent = true;
  for (const middleware of deps.observability.middleware) app.use(middleware);
  app.use(accessLog(deps.logger));
  app.use(errorRenderer(deps.publicUrl));
  app.use(admission(deps.policy));
  const health = healthRoutes(deps.observability.readiness);
  app.use(health.routes());
  app.use(deps.observability.routes);
  const tokens = tokenRoutes(deps.router, deps.auth, deps.policy);
  app.use(tokens.routes());
  app.use(tokens.allowedMethods());
  app.use(registryApi(deps.router, deps.auth, deps.policy));
  app.use(async () => {
    throw new RegistryError('UNSUPPORTED', 'not found', { status: 404 });
  });
  return app;
}
