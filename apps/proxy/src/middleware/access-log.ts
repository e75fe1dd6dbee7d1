/**
 * One structured log line per request, written when the response is finished or the
 * connection closed (bodies stream after the middleware chain returns). No headers
 * are logged; the URL's secret-looking query parameters are blanked.
 */
import type { Context, Next } from 'koa';
import type { Logger } from '../logger.js';
import { redactUrl } from '../logger.js';

export function accessLog(logger: Logger) {
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    const started = process.hrtime.bigint();
    ctx.res.once('close', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const error = (ctx.state.error ?? ctx.state.streamError) as Error | undefined;
      const line = {
        method: ctx.method,
        url: redactUrl(ctx.originalUrl),
        status: ctx.res.statusCode,
        length: Number(ctx.res.getHeader('content-length')) || undefined,
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
