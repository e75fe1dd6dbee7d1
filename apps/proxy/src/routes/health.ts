/**
 * Probes. Liveness: `/health` (the seed's) and `/healthz`, which never call an upstream.
 * Readiness: `/readyz`, 200 when the store takes writes and the configuration is loaded,
 * 503 otherwise; upstream reachability is in the body either way but never fails it.
 */
import Router from '@koa/router';
import type { ReadinessReport } from '../observe/readiness.js';

export function healthRoutes(readiness: () => Promise<ReadinessReport>): Router {
  const router = new Router();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/healthz', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'ok';
  });
  router.get('/readyz', async (ctx) => {
    const report = await readiness();
    ctx.status = report.ready ? 200 : 503;
    ctx.set('cache-control', 'no-store');
    ctx.body = report;
  });
  return router;
}
