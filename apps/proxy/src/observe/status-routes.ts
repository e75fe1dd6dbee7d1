/**
 * Routes on the main listener, placed after admission (IP lists apply): the status page
 * at `/` for browsers, its figures at `/-/stats`, and `/metrics` unless metrics have a
 * listener of their own. `/` is negotiated: only a client that asks for `text/html` by
 * name (a browser) gets the page; API clients and wildcard Accepts keep the registry-format 404.
 */
import { randomBytes } from 'node:crypto';
import type { Context, Next } from 'koa';
import { renderStatusPage, statusPageCsp, type StatusPageInput } from './status-page.js';

export interface StatusRoutesOptions {
  statusPage: boolean;
  /** Set when metrics are served on the main listener. */
  metricsPath?: string;
  figures(): unknown;
  metricsText(): Promise<{ contentType: string; text: string }>;
  page: Omit<StatusPageInput, 'initial' | 'nonce'>;
}

function wantsHtml(accept: string): boolean {
  return accept.split(',').some((part) => part.split(';')[0]!.trim().toLowerCase() === 'text/html');
}

export function statusRoutes(options: StatusRoutesOptions) {
  return async function serveStatus(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (options.metricsPath !== undefined && ctx.path === options.metricsPath) {
      const { contentType, text } = await options.metricsText();
      ctx.type = contentType;
      ctx.body = text;
      return;
    }
    if (!options.statusPage) return next();
    if (ctx.path === '/-/stats') {
      ctx.set('cache-control', 'no-store');
      ctx.body = options.figures();
      return;
    }
    if (ctx.path === '/' && wantsHtml(ctx.get('accept'))) {
      const nonce = randomBytes(16).toString('base64');
      ctx.set({
        'content-security-policy': statusPageCsp(nonce),
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
        'x-content-type-options': 'nosniff',
        vary: 'Accept',
      });
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderStatusPage({ ...options.page, nonce, initial: options.figures() });
      return;
    }
    await next();
  };
}
