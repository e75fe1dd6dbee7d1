/**
 * The first middleware: renders every error once, in registry format
 * `{"errors":[{"code","message","detail"}]}`. An upstream 401 becomes the proxy's own
 * challenge (realm from configuration). Unexpected errors are logged, not leaked.
 */
import type { Context, Next } from 'koa';
import { RegistryError, UpstreamAuthError } from '@docxy/proxy-core';
import { proxyChallenge } from '../http/challenge.js';

export function errorRenderer(publicUrl: URL) {
  return async function renderErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (caught) {
      const err = caught instanceof RegistryError ? caught : new RegistryError('UNKNOWN', 'internal error', { cause: caught });
      if (!(caught instanceof RegistryError) || err.status >= 500) ctx.state.error = caught;
      if (ctx.headerSent || !ctx.writable) {
        ctx.res.destroy();
        return;
      }
      ctx.status = err.status;
      for (const [name, value] of Object.entries(err.headers)) ctx.set(name, value);
      if (err.code === 'UNAUTHORIZED') {
        const upstreamError = err instanceof UpstreamAuthError ? err.challenge?.params.error : undefined;
        ctx.set(
          'WWW-Authenticate',
          proxyChallenge({
            publicUrl,
            scope: ctx.state.scope as string | undefined,
            ns: ctx.state.ns as string | undefined,
            error: upstreamError,
          }),
        );
      }
      ctx.type = 'application/json';
      ctx.body = err.toJSON();
    }
  };
}
