/**
 * Writes a RegistryResponse to the client. Koa's own responder is bypassed for these
 * bodies because a failure mid-stream must reach the client as a failed transfer
 * (the socket is destroyed), never as a clean but short body; Koa would leave it hanging.
 * A stored blob sends itself through reused buffers (FileBody); everything else is piped.
 */
import { pipeline } from 'node:stream';
import type { Context } from 'koa';
import { isFileBody, type RegistryResponse } from '@docxy/proxy-core';

export function sendRegistryResponse(ctx: Context, response: RegistryResponse, extraHeaders: Record<string, string> = {}): void {
  ctx.status = response.status;
  ctx.respond = false;
  const res = ctx.res;
  for (const [name, value] of Object.entries({ ...response.headers, ...extraHeaders })) res.setHeader(name, value);
  res.writeHead(response.status);
  const body = response.body;
  if (!body || ctx.method === 'HEAD') {
    body?.destroy();
    res.end();
    return;
  }
  const ended = (err?: Error | null): void => {
    if (!err) return;
    ctx.state.streamError = err;
    res.destroy(err);
  };
  if (isFileBody(body)) {
    body.sendTo(res, (err) => (err ? ended(err) : res.end()));
    return;
  }
  pipeline(body, res, ended);
}
