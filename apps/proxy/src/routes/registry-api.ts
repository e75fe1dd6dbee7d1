/**
 * The Registry v2 pull API: `/v2/`, manifests, blobs, tags, referrers. Validates the
 * name and reference before anything goes upstream, then hands the request to the
 * RegistrySource of the routed registry. Pushes and deletes are 405 UNSUPPORTED.
 */
import type { Context, Next } from 'koa';
import { RegistryError, assertDigest, parseManifestReference, type Conditional, type RegistryResponse } from '@docxy/proxy-core';
import type { RegistryRouter } from '../registry-router.js';
import { parseV2Path } from '../http/v2-path.js';
import { sendRegistryResponse } from '../http/send.js';
import { abortOnClose } from '../http/abort-on-close.js';
import { routeHints } from '../http/route-hints.js';
import type { ClientAuth } from '../auth/client-auth.js';
import type { AccessPolicy } from '../access/policy.js';
import { takeRequest } from '../middleware/admission.js';
import type { RequestTarget } from '../observe/request-facts.js';

const API_VERSION = { 'Docker-Distribution-API-Version': 'registry/2.0' };

function conditional(ctx: Context): Conditional {
  return {
    ifNoneMatch: ctx.get('if-none-match') || undefined,
    ifMatch: ctx.get('if-match') || undefined,
    ifModifiedSince: ctx.get('if-modified-since') || undefined,
    ifRange: ctx.get('if-range') || undefined,
  };
}

/** Forwards only the list parameters the spec defines. */
function listQuery(ctx: Context, keys: string[]): URLSearchParams {
  const out = new URLSearchParams();
  for (const key of keys) {
    const value = ctx.query[key];
    if (typeof value === 'string') out.set(key, value);
  }
  return out;
}

export function registryApi(router: RegistryRouter, auth: ClientAuth, policy: AccessPolicy) {
  return async function v2(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== '/v2' && !ctx.path.startsWith('/v2/')) return next();
    ctx.set(API_VERSION);
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      throw new RegistryError('UNSUPPORTED', 'this mirror is pull-only', { headers: { allow: 'GET, HEAD' } });
    }
    if (ctx.path === '/v2/' || ctx.path === '/v2') {
      await auth.checkBase(ctx);
      ctx.body = {};
      return;
    }
    const parsed = parseV2Path(ctx.path);
    if (!parsed) throw new RegistryError('UNSUPPORTED', 'unknown API path', { status: 404 });
    const hints = routeHints(ctx);
    const route = router.resolve(parsed.name, hints);
    // For the access log and metrics (observe/request-facts.ts), denied requests included.
    ctx.state.target = {
      registry: route.registry.upstream.name,
      repository: route.upstreamName,
      kind: parsed.kind === 'manifests' ? (parsed.rest.includes(':') ? 'digest' : 'tag') : parsed.kind === 'blobs' ? 'blob' : parsed.kind,
      reference: parsed.kind === 'tags' ? undefined : parsed.rest,
    } satisfies RequestTarget;
    // The challenge's scope names the registry when the route is not the default, so the
    // token request (which reaches /auth/token without ?ns= or the alias Host) maps to it.
    const viaDefault = route.registry === router.default && !parsed.name.startsWith(`${route.registry.upstream.name}/`);
    const scopeName = viaDefault ? parsed.name : `${route.registry.upstream.name}/${route.upstreamName}`;
    ctx.state.scope = `repository:${scopeName}:pull`;
    if (hints.ns !== undefined) ctx.state.ns = route.registry.upstream.name;
    const authorization = await auth.admit(ctx, scopeName, { registry: route.registry, login: router.loginRegistry(hints) });
    takeRequest(ctx, policy);
    policy.rules.check(ctx.state.user as string | undefined, route.registry.upstream.name, route.upstreamName);
    const pace = (response: RegistryResponse): RegistryResponse => {
      ctx.state.cache = response.cache;
      return response.body
        ? {
            ...response,
            body: policy.limiter.pace(
              (ctx.state.user as string | undefined) ?? `ip:${ctx.state.clientIp as string}`,
              policy.limitFor(ctx.state.user as string | undefined),
              response.body,
            ),
          }
        : response;
    };
    const source = route.registry.source;
    const base = { repo: route.upstreamName, authorization, signal: abortOnClose(ctx) };
    const method = ctx.method as 'GET' | 'HEAD';
    switch (parsed.kind) {
      case 'manifests': {
        const reference = parseManifestReference(parsed.rest).value;
        const response = await source.manifest({
          ...base,
          reference,
          method,
          accept: ctx.get('accept') || undefined,
          conditional: conditional(ctx),
        });
        return sendRegistryResponse(ctx, pace(response));
      }
      case 'blobs': {
        const digest = assertDigest(parsed.rest);
        const response = await source.blob({
          ...base,
          digest,
          method,
          range: ctx.get('range') || undefined,
          conditional: conditional(ctx),
        });
        return sendRegistryResponse(ctx, pace(response));
      }
      case 'tags': {
        const response = await source.tags({ ...base, query: listQuery(ctx, ['n', 'last']) });
        const link = response.headers.link;
        if (link) response.headers.link = link.split(`/v2/${route.upstreamName}/`).join(`/v2/${parsed.name}/`);
        return sendRegistryResponse(ctx, pace(response));
      }
      case 'referrers': {
        const digest = assertDigest(parsed.rest);
        const response = await source.referrers({ ...base, digest, query: listQuery(ctx, ['artifactType']) });
        return sendRegistryResponse(ctx, pace(response));
      }
    }
  };
}
