/** Liveness: `/health` (the seed's) and `/healthz`. Neither ever calls an upstream. */
import Router from '@koa/router';

export function healthRoutes(): Router {
  const router = new Router();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/healthz', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'ok';
  });
  return router;
}
