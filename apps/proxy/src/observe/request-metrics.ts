/**
 * The outermost middleware: counts every request once its response is over (bodies are
 * streamed after the middleware chain returns, so the figures are taken on `close`).
 */
import type { Context, Next } from 'koa';
import type { MirrorMetrics } from './metrics.js';
import type { TrafficStats } from './traffic-stats.js';
import { cacheOutcomeOf, countBodyBytes, errorCodeOf, routeClass, targetOf } from './request-facts.js';

const METHODS = new Set(['GET', 'HEAD', 'POST']);

export function requestMetrics(metrics: MirrorMetrics, stats: TrafficStats, metricsPath: string) {
  return async function measure(ctx: Context, next: Next): Promise<void> {
    const started = process.hrtime.bigint();
    const bytes = countBodyBytes(ctx.res);
    ctx.res.once('close', () => {
      const route = routeClass(ctx.path, metricsPath);
      const status = ctx.res.statusCode;
      metrics.requests.inc({ route, method: METHODS.has(ctx.method) ? ctx.method : 'other', status: String(status) });
      metrics.requestSeconds.observe({ route }, Number(process.hrtime.bigint() - started) / 1e9);
      const code = errorCodeOf(ctx);
      if (code === 'DENIED') metrics.denied.inc({ route });
      if (code === 'TOOMANYREQUESTS') metrics.rateLimited.inc({ route });
      const target = targetOf(ctx);
      if (!target) return;
      const outcome = cacheOutcomeOf(ctx);
      if (target.kind === 'tag' || target.kind === 'digest' || target.kind === 'blob') {
        const sent = bytes();
        metrics.servedBytes.inc({ registry: target.registry, outcome: outcome ?? 'none' }, sent);
        stats.served(outcome, sent);
      }
      if ((target.kind === 'tag' || target.kind === 'digest') && ctx.method === 'GET' && status >= 200 && status < 300) {
        stats.pull(
          { registry: target.registry, repository: target.repository, reference: target.reference ?? '', outcome: outcome ?? 'none' },
          target.kind === 'digest',
        );
      }
    });
    await next();
  };
}
