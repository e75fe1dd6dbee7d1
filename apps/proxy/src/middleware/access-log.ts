/**
 * One structured log line per request, written when the response is finished or the
 * connection closed (bodies stream after the middleware chain returns). No headers
 * are logged; the URL's secret-looking parameters are blanked. The URL is the path and
 * query the mirror routed on: an absolute-form request target
 * (`GET http://other-host/v2/… HTTP/1.1`) is logged without the host the client chose.
 * Registry requests also name the registry, the repository (as the upstream knows it),
 * the reference kind (tag | digest | blob | tags | referrers), how the cache answered
 * (hit | miss | coalesced | stale | bypass) and the body bytes actually sent.
 */
import type { Context, Next } from 'koa';
import type { Logger } from '../logger.js';
import { redactUrl } from '../logger.js';
import { cacheOutcomeOf, countBodyBytes, targetOf } from '../observe/request-facts.js';

export function accessLog(logger: Logger) {
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    const started = process.hrtime.bigint();
    const bytes = countBodyBytes(ctx.res);
    // Koa's path and querystring come from the same parse the routes use.
    const url = redactUrl(ctx.querystring ? `${ctx.path}?${ctx.querystring}` : ctx.path);
    ctx.res.once('close', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const error = (ctx.state.error ?? ctx.state.streamError) as Error | undefined;
      const target = targetOf(ctx);
      const line = {
        method: ctx.method,
        url,
        status: ctx.res.statusCode,
        ...(target ? { registry: target.registry, repository: target.repository, kind: target.kind } : {}),
        cache: cacheOutcomeOf(ctx),
        length: Number(ctx.res.getHeader('content-length')) || undefined,
        bytes: bytes(),
        ms: Math.round(ms * 10) / 10,
        ip: ctx.state.clientIp ?? ctx.ip,
        user: ctx.state.user,
        completed: ctx.res.writableFinished,
        ...(error ? { err: error.message } : {}),
      };
      if (ctx.state.error) logger.error(line, 'request failed');
      else if (ctx.state.streamError || !ctx.res.writableFinished) logger.warn(line, 'request interrupted');
      else logger.info(line, 'request');
    });
    await next();
  };
}
