/** An AbortSignal that fires when the client goes away before its response finished. */
import type { Context } from 'koa';

export function abortOnClose(ctx: Context): AbortSignal {
  const controller = new AbortController();
  ctx.res.once('close', () => {
    if (!ctx.res.writableFinished) controller.abort(new Error('client closed the connection'));
  });
  return controller.signal;
}
