/** Reads a small urlencoded request body with a hard size limit (OAuth2 token POSTs). */
import type { Context } from 'koa';
import { RegistryError } from '@docxy/proxy-core';

export async function readForm(ctx: Context, limit = 64 * 1024): Promise<URLSearchParams> {
  const type = ctx.get('content-type');
  if (type && !type.startsWith('application/x-www-form-urlencoded')) {
    throw new RegistryError('UNSUPPORTED', 'token POST must be application/x-www-form-urlencoded', { status: 415 });
  }
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new RegistryError('SIZE_INVALID', 'request body too large', { status: 413 });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new RegistryError('SIZE_INVALID', 'request body too large', { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
