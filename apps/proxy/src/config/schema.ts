/**
 * The configuration contract: one strict zod schema, so a misspelt key stops the
 * process with a message naming it. Every default is explicit and bounded.
 */
import { z } from 'zod';
import { durationMs, sizeBytes } from './units.js';
import { parseCidr } from '../access/cidr.js';
import { isValidGlob } from '../access/glob.js';
import { acmeSchema } from './acme-schema.js';
import { metricsSchema } from './observe-schema.js';

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/, 'expected "host:port" (IPv6 in brackets)');
const httpUrl = z.url({ protocol: /^https?$/ });
const positiveMs = (fallback: number) =>
  z
    .number()
    .int()
    .positive()
    .max(24 * 3600_000)
    .default(fallback);

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

/** An upstream account; the secret comes from exactly one of password, passwordFile, passwordEnv. */
const accountSchema = z
  .strictObject({
    username: z.string().min(1),
    password: z.string().min(1).optional(),
    passwordFile: z.string().min(1).optional(),
    passwordEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name')
      .optional(),
  })
  .refine(
    (a) => [a.password, a.passwordFile, a.passwordEnv].filter((v) => v !== undefined).length === 1,
    'give exactly one of password, passwordFile, passwordEnv',
  );

/** Every field optional: an entry may only adjust a catalogue registry (or disable it). */
const registrySchema = z.strictObject({
  /** Operator accounts for upstream calls in proxy mode (anonymous is always the last). */
  accounts: z.array(accountSchema).default([]),
  url: httpUrl.optional(),
  trustedRealms: z.array(realmUrl).optional(),
  /** Host aliases: requests whose Host is one of these go to this registry. */
  hosts: z.array(hostName).default([]),
  /** Mirrors believed to carry the same content, tried (anonymously) for digests only when this registry is in trouble. */
  fallbacks: z.array(httpUrl).default([]),
  enabled: z.boolean().default(true),
});

const cidr = z.string().refine((value) => parseCidr(value) !== undefined, 'not a CIDR such as "10.0.0.0/8" or "2001:db8::/32"');
const imageGlob = z.string().refine(isValidGlob, 'not an image glob such as "docker.io/library/*" or "ghcr.io/**"');
const ruleSchema = z.strictObject({
  /** Registry names this client may pull from; "*" for all. */
  registries: z.array(z.string().min(1)).default(['*']),
  /** Images ("<registry>/<repository>") allowed; `*` within a segment, `**` across segments. */
  allow: z.array(imageGlob).default(['**']),
  /** Images refused even when allowed. */
  block: z.array(imageGlob).default([]),
  /** Shown to a client refused by this rule (DENIED). */
  message: z.string().min(1).max(500).optional(),
});
const limitSchema = z.strictObject({
  requestsPerSecond: z.number().nonnegative().default(0),
  bytesPerSecond: z.union([z.literal(0), sizeBytes]).prefault(0),
});

export const configSchema = z.strictObject({
  listen: hostPort.default('0.0.0.0:5000'),
  /** Base URL clients reach this mirror at; the token realm in challenges is built from it. */
  publicUrl: httpUrl.optional(),
  dataDir: z.string().min(1).default('./data'),
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /** Registry served when nothing else in the request names one. */
  defaultRegistry: z.string().min(1).default('docker.io'),
  registries: z
    .record(z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, 'registry names are host names, e.g. "ghcr.io"'), registrySchema)
    .default({}),
  auth: z
    .strictObject({
      /** passthrough: clients fetch upstream tokens via /auth/token. proxy: clients log in to the mirror; upstream calls use the operator's accounts. */
      mode: z.enum(['passthrough', 'proxy']).default('passthrough'),
      /** proxy mode: may clients pull without logging in? */
      anonymous: z.boolean().default(true),
      /** proxy mode: users allowed to log in (bcrypt entries, `htpasswd -B`). */
      htpasswd: z.string().min(1).optional(),
      /** proxy mode: lifetime of tokens the mirror signs. */
      tokenTtl: durationMs.prefault('15m'),
      /** proxy mode: PEM EC P-256 key signing tokens; default generated once in <dataDir>/auth/. */
      signingKey: z.string().min(1).optional(),
    })
    .prefault({}),
  upstream: z
    .strictObject({
      connectTimeoutMs: positiveMs(10_000),
      headersTimeoutMs: positiveMs(30_000),
      /** No bytes for this long aborts a body; there is no total-time cap on layers. */
      idleTimeoutMs: positiveMs(60_000),
      retries: z.number().int().min(0).max(5).default(2),
      maxSockets: z.number().int().positive().max(4096).default(256),
      /** Allow upstream connections to loopback/private addresses (an internal registry). Link-local and metadata addresses are always refused. */
      allowPrivateNetworks: z.boolean().default(false),
    })
    .prefault({}),
  server: z
    .strictObject({
      /** Slow-client guards (node:http headersTimeout / requestTimeout). */
      headersTimeoutMs: positiveMs(20_000),
      requestTimeoutMs: positiveMs(60_000),
      keepAliveTimeoutMs: positiveMs(10_000),
      /** How long SIGTERM waits for in-flight requests before closing them. */
      drainTimeoutMs: positiveMs(30_000),
    })
    .prefault({}),
  cache: z
    .strictObject({
      store: z.enum(['fs', 's3']).default('fs'),
      /** Bytes of blobs kept on disk (fs store). Default: half the filesystem holding dataDir. */
      maxSize: sizeBytes.optional(),
      /** A tag younger than this is served with no upstream call at all. */
      tagFreshness: durationMs.prefault('60s'),
      /** How long a cached tag may be served while the upstream is down or refusing. */
      maxStale: durationMs.prefault('7d'),
      /**
       * Disk reserved for a blob whose upstream sends no Content-Length: a fill takes its
       * room before the first byte, so concurrent fills cannot together overrun the disk.
       */
      unknownSizeEstimate: sizeBytes.prefault('1GiB'),
      /** S3 store only: answer warm blob GETs with a 307 to a presigned URL. */
      redirect: z.boolean().default(false),
      s3: z
        .strictObject({
          bucket: z.string().min(3),
          region: z.string().default('us-east-1'),
          endpoint: httpUrl.optional(),
          forcePathStyle: z.boolean().default(false),
          prefix: z
            .string()
            .regex(/^([a-z0-9._-]+\/)*$/, 'a key prefix like "docxy/" (or empty)')
            .default(''),
          accessKeyId: z.string().optional(),
          secretAccessKey: z.string().optional(),
        })
        .optional(),
    })
    .prefault({}),
  access: z
    .strictObject({
      /** Client networks allowed (empty: everyone not denied). */
      allowIps: z.array(cidr).default([]),
      denyIps: z.array(cidr).default([]),
      /** Load balancers whose X-Forwarded-For is believed. */
      trustedProxies: z.array(cidr).default([]),
      rules: z
        .strictObject({
          /** Clients without a login (and every client in passthrough mode). */
          anonymous: ruleSchema.prefault({}),
          /** Logged-in users without a rule of their own. */
          default: ruleSchema.prefault({}),
          users: z.record(z.string().min(1), ruleSchema).default({}),
        })
        .prefault({}),
      /** 0: unlimited. */
      rateLimits: z.strictObject({ anonymous: limitSchema.prefault({}), users: limitSchema.prefault({}) }).prefault({}),
    })
    .prefault({}),
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
  /** Built-in HTTPS certificates (see acme-schema.ts). */
  acme: acmeSchema,
  /** Metrics and the status page (see observe-schema.ts). */
  metrics: metricsSchema,
});

export type ConfigInput = z.input<typeof configSchema>;

/** A registry after the catalogue and the configuration are merged. */
export interface ResolvedRegistry {
  url: string;
  trustedRealms: string[];
  hosts: string[];
  /** Secrets already read from files / environment. */
  accounts: Array<{ username: string; password: string }>;
  fallbacks: string[];
}

/** Validated configuration; `registries` holds the enabled registries, fully resolved. */
export type Config = Omit<z.output<typeof configSchema>, 'registries'> & { registries: Record<string, ResolvedRegistry> };
