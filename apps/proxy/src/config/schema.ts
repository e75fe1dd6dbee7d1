/**
 * The configuration contract: one strict zod schema, so a misspelt key stops the
 * process with a message naming it. Every default is explicit and bounded.
 */
import { z } from 'zod';
import { durationMs, sizeBytes } from './units.js';

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/, 'expected "host:port" (IPv6 in brackets)');
const httpUrl = z.url({ protocol: /^https?$/ });
const positiveMs = (fallback: number) => z.number().int().positive().max(24 * 3600_000).default(fallback);

const hostName = z.string().regex(/^[a-z0-9.-]+$/, 'a host name such as "ghcr.mirror.example.com"');
/** A realm URL; its host may start with "*." to trust every subdomain. */
const realmUrl = z.string().refine((value) => {
  try {
    const url = new URL(value.replace('://*.', '://wildcard.'));
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}, 'expected an http(s) URL, optionally with a "*." host prefix');

/** Every field optional: an entry may only adjust a catalogue registry (or disable it). */
const registrySchema = z.strictObject({
  url: httpUrl.optional(),
  trustedRealms: z.array(realmUrl).optional(),
  /** Host aliases: requests whose Host is one of these go to this registry. */
  hosts: z.array(hostName).default([]),
  enabled: z.boolean().default(true),
});

export const configSchema = z.strictObject({
  listen: hostPort.default('0.0.0.0:5000'),
  /** Base URL clients reach this mirror at; the token realm in challenges is built from it. */
  publicUrl: httpUrl.optional(),
  dataDir: z.string().min(1).default('./data'),
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /** Registry served when nothing else in the request names one. */
  defaultRegistry: z.string().min(1).default('docker.io'),
  registries: z.record(z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, 'registry names are host names, e.g. "ghcr.io"'), registrySchema).default({}),
  auth: z.strictObject({ mode: z.enum(['passthrough']).default('passthrough') }).prefault({}),
  upstream: z.strictObject({
    connectTimeoutMs: positiveMs(10_000),
    headersTimeoutMs: positiveMs(30_000),
    /** No bytes for this long aborts a body; there is no total-time cap on layers. */
    idleTimeoutMs: positiveMs(60_000),
    retries: z.number().int().min(0).max(5).default(2),
    maxSockets: z.number().int().positive().max(4096).default(256),
    /** Allow upstream connections to loopback/private addresses (an internal registry). Link-local and metadata addresses are always refused. */
    allowPrivateNetworks: z.boolean().default(false),
  }).prefault({}),
  server: z.strictObject({
    /** Slow-client guards (node:http headersTimeout / requestTimeout). */
    headersTimeoutMs: positiveMs(20_000),
    requestTimeoutMs: positiveMs(60_000),
    keepAliveTimeoutMs: positiveMs(10_000),
    /** How long SIGTERM waits for in-flight requests before closing them. */
    drainTimeoutMs: positiveMs(30_000),
  }).prefault({}),
  cache: z.strictObject({
    store: z.enum(['fs', 's3']).default('fs'),
    /** Bytes of blobs kept on disk (fs store). Default: half the filesystem holding dataDir. */
    maxSize: sizeBytes.optional(),
    /** A tag younger than this is served with no upstream call at all. */
    tagFreshness: durationMs.default(60),
    /** How long a cached tag may be served while the upstream is down or refusing. */
    maxStale: durationMs.default(7 * 24 * 3600),
    /** S3 store only: answer warm blob GETs with a 307 to a presigned URL. */
    redirect: z.boolean().default(false),
    s3: z.strictObject({
      bucket: z.string().min(3),
      region: z.string().default('us-east-1'),
      endpoint: httpUrl.optional(),
      forcePathStyle: z.boolean().default(false),
      prefix: z.string().regex(/^([a-z0-9._-]+\/)*$/, 'a key prefix like "docxy/" (or empty)').default(''),
      accessKeyId: z.string().optional(),
      secretAccessKey: z.string().optional(),
    }).optional(),
  }).prefault({}),
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
});

export type ConfigInput = z.input<typeof configSchema>;

/** A registry after the catalogue and the configuration are merged. */
export interface ResolvedRegistry {
  url: string;
  trustedRealms: string[];
  hosts: string[];
}

/** Validated configuration; `registries` holds the enabled registries, fully resolved. */
export type Config = Omit<z.output<typeof configSchema>, 'registries'> & { registries: Record<string, ResolvedRegistry> };
