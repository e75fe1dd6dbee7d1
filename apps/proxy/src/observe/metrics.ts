/**
 * The mirror's Prometheus metrics, in a registry of its own (several mirrors may run in
 * one process, as in tests). Labels are bounded sets: route classes, registries, cache
 * outcomes, statuses, accounts. Repository names are never a label (unbounded, and
 * possibly confidential).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface MirrorMetrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  requestSeconds: Histogram<'route'>;
  servedBytes: Counter<'registry' | 'outcome'>;
  upstreamBytes: Counter<'registry'>;
  cacheRequests: Counter<'registry' | 'kind' | 'outcome'>;
  fillsInFlight: Gauge;
  fillReaders: Gauge;
  upstreamSeconds: Histogram<'registry' | 'method'>;
  upstreamRequests: Counter<'registry' | 'method' | 'outcome' | 'status'>;
  quotaRemaining: Gauge<'registry' | 'account'>;
  storeBytes: Gauge;
  storeObjects: Gauge;
  storeMaxBytes: Gauge;
  evictions: Counter;
  evictedBytes: Counter;
  denied: Counter<'route'>;
  rateLimited: Counter<'route'>;
  certificateExpiry: Gauge;
}

/** Registers a gauge that is only shown once it has a value (idempotent). */
export function present(registry: Registry, gauge: Gauge): void {
  if (!registry.getSingleMetric((gauge as unknown as { name: string }).name)) registry.registerMetric(gauge);
}

/** Removes a gauge from the exposition (a certificate no longer served). */
export function absent(registry: Registry, gauge: Gauge): void {
  registry.removeSingleMetric((gauge as unknown as { name: string }).name);
}

/** Upstream latency to response headers: a cached HEAD is milliseconds, a cold CDN redirect seconds. */
const UPSTREAM_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Whole requests, blobs included: up to minutes for big layers. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300];

export function createMetrics(): MirrorMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: 'docxy_http_requests_total',
      help: 'Requests answered, by route class (manifest, blob, tags, referrers, v2, token, probe, metrics, status, other) and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'docxy_http_request_duration_seconds',
      help: 'Time from request to the end of the response, by route class',
      labelNames: ['route'],
      buckets: REQUEST_BUCKETS,
      registers,
    }),
    servedBytes: new Counter({
      name: 'docxy_served_bytes_total',
      help: 'Body bytes sent to clients for manifests and blobs, by how the cache answered (hit and stale: from the cache)',
      labelNames: ['registry', 'outcome'],
      registers,
    }),
    upstreamBytes: new Counter({
      name: 'docxy_upstream_bytes_total',
      help: 'Content bytes received from upstream registries',
      labelNames: ['registry'],
      registers,
    }),
    cacheRequests: new Counter({
      name: 'docxy_cache_requests_total',
      help: 'Cache answers by kind (tag, digest, blob) and outcome (hit, miss, coalesced, stale, bypass)',
      labelNames: ['registry', 'kind', 'outcome'],
      registers,
    }),
    fillsInFlight: new Gauge({ name: 'docxy_fills_in_flight', help: 'Blob downloads into the cache running now', registers }),
    fillReaders: new Gauge({ name: 'docxy_fill_readers', help: 'Clients reading from running downloads', registers }),
    upstreamSeconds: new Histogram({
      name: 'docxy_upstream_request_duration_seconds',
      help: 'Upstream exchanges, time to response headers',
      labelNames: ['registry', 'method'],
      buckets: UPSTREAM_BUCKETS,
      registers,
    }),
    upstreamRequests: new Counter({
      name: 'docxy_upstream_requests_total',
      help: 'Upstream exchanges by outcome (ok, client-error, server-error, error = no response) and status ("none" without a response)',
      labelNames: ['registry', 'method', 'outcome', 'status'],
      registers,
    }),
    quotaRemaining: new Gauge({
      name: 'docxy_upstream_quota_remaining',
      help: 'Pulls left as the upstream last reported (ratelimit-remaining), per operator account (proxy mode) or "last-seen" (passthrough)',
      labelNames: ['registry', 'account'],
      registers,
    }),
    // Shown only where they mean something (see `present`): a 0 would read as an empty store.
    storeBytes: new Gauge({ name: 'docxy_store_bytes', help: 'Bytes of blobs in the local store (fs store only)', registers: [] }),
    storeObjects: new Gauge({ name: 'docxy_store_objects', help: 'Blobs in the local store (fs store only)', registers: [] }),
    storeMaxBytes: new Gauge({ name: 'docxy_store_max_bytes', help: 'Bytes of blobs kept before eviction (fs store only)', registers: [] }),
    evictions: new Counter({ name: 'docxy_store_evictions_total', help: 'Blobs evicted from the local store', registers }),
    evictedBytes: new Counter({ name: 'docxy_store_evicted_bytes_total', help: 'Bytes of blobs evicted from the local store', registers }),
    denied: new Counter({
      name: 'docxy_denied_requests_total',
      help: 'Requests refused with 403 DENIED (address lists, image rules, upstream denial), by route class',
      labelNames: ['route'],
      registers,
    }),
    rateLimited: new Counter({
      name: 'docxy_rate_limited_requests_total',
      help: 'Requests answered 429 TOOMANYREQUESTS (client rate limit, upstream quota, resting accounts), by route class',
      labelNames: ['route'],
      registers,
    }),
    // Absent until a certificate is known: a 0 would read as "expired in 1970" to an alert.
    certificateExpiry: new Gauge({
      name: 'docxy_certificate_expiry_timestamp_seconds',
      help: 'Expiry of the TLS certificate served, in Unix seconds (absent without TLS)',
      registers: [],
    }),
  };
}
