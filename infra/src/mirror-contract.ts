/**
 * Everything the program assumes about the mirror's container (apps/proxy, the top-level
 * Dockerfile, README "Configuration"), in one place: when the mirror changes, adjust here.
 *
 * The mirror reads one YAML file (DOCXY_CONFIG) and DOCXY_* overrides. Keys with no
 * environment variable (cache.redirect, access.trustedProxies, registries.*.accounts, acme)
 * go in that file. JSON is YAML, so the file is rendered with JSON.stringify (no YAML library).
 */

/** The image runs as `node` (uid/gid 1000); the data directory must be writable by it. */
export const MIRROR_UID = 1000;
export const MIRROR_GID = 1000;
/** Liveness (never calls an upstream): load balancer and Route 53 health checks. */
export const HEALTH_PATH = '/healthz';
/** docker stop / ECS stop grace: longer than server.drainTimeoutMs (30 s) so downloads drain. */
export const STOP_GRACE_SECONDS = 40;
/** Where the entrypoint lives in the image (used when Fargate wraps it, see fargateMirror). */
const MIRROR_MAIN = '/app/apps/proxy/dist/main.js';

/** Fargate: plain HTTP inside the task, TLS at the ALB. */
export const FARGATE_PORT = 5000;
/**
 * EC2: the container is unprivileged, so it binds high ports that the host publishes as
 * 443 (mirror, HTTPS via built-in ACME) and 80 (ACME HTTP-01 challenges), as compose.yaml does.
 */
export const EC2_PORTS = { https: { host: 443, container: 8443 }, acme: { host: 80, container: 8080 } } as const;
/** EC2: the data volume's mount point on the host, mounted at the image's /data. */
export const EC2_DATA_MOUNT = '/srv/docxy';
export const CONTAINER_DATA_DIR = '/data';
export const EC2_CONFIG_PATH = '/etc/docxy/config.yml';

/** Environment variables the mirror reads (apps/proxy/src/config/load.ts ENV_KEYS). */
export const ENV = {
  config: 'DOCXY_CONFIG',
  listen: 'DOCXY_LISTEN',
  publicUrl: 'DOCXY_PUBLIC_URL',
  dataDir: 'DOCXY_DATA_DIR',
  cacheStore: 'DOCXY_CACHE_STORE',
  s3Bucket: 'DOCXY_S3_BUCKET',
  s3Region: 'DOCXY_S3_REGION',
} as const;

/** The variable holding upstream account n's password (named by the config's passwordEnv): prefix + n. */
export const UPSTREAM_PASSWORD_ENV_PREFIX = 'DOCXY_UPSTREAM_PASSWORD_';
export function upstreamPasswordEnv(index: number): string {
  return `${UPSTREAM_PASSWORD_ENV_PREFIX}${index}`;
}

export interface AccountRef {
  registry: string;
  username: string;
}

/** registries.<name>.accounts: usernames here, passwords only by environment variable name. */
function accountsBlock(accounts: AccountRef[]): Record<string, { accounts: Array<{ username: string; passwordEnv: string }> }> {
  const registries: Record<string, { accounts: Array<{ username: string; passwordEnv: string }> }> = {};
  accounts.forEach((account, index) => {
    registries[account.registry] ??= { accounts: [] };
    registries[account.registry]!.accounts.push({ username: account.username, passwordEnv: upstreamPasswordEnv(index) });
  });
  return registries;
}

function renderConfig(config: Record<string, unknown>): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

export interface FargateMirrorInput {
  domain: string;
  /** proxy: tokens signed with the shared key passed as SIGNING_KEY_ENV (a container secret). */
  authMode: 'passthrough' | 'proxy';
  bucket: string;
  region: string;
  /** The VPC's CIDR: X-Forwarded-For is believed only from the ALB inside it. */
  vpcCidr: string;
  accounts: AccountRef[];
}

/**
 * A task definition cannot mount a file, so the task writes its config file from an
 * environment variable before starting the mirror. (If the mirror learns to read inline YAML,
 * e.g. from this variable, drop entryPoint/command and keep only the environment.)
 */
export const INLINE_CONFIG_ENV = 'DOCXY_CONFIG_YAML';
const FARGATE_CONFIG_PATH = '/tmp/docxy.yml';
/** proxy mode on Fargate: the token signing key (PEM) arrives in this variable; the wrapper writes it to a 0600 file. */
export const SIGNING_KEY_ENV = 'DOCXY_SIGNING_KEY_PEM';
const FARGATE_SIGNING_KEY_PATH = '/tmp/docxy-signing-key.pem';

/** Container settings for a Fargate task: plain HTTP on FARGATE_PORT, S3 cache, presigned redirects. */
export function fargateMirror(input: FargateMirrorInput): { environment: Record<string, string>; entryPoint: string[]; command: string[] } {
  const proxy = input.authMode === 'proxy';
  const configYaml = renderConfig({
    ...(proxy ? { auth: { mode: 'proxy', signingKey: FARGATE_SIGNING_KEY_PATH } } : {}),
    cache: { redirect: true },
    access: { trustedProxies: [input.vpcCidr] },
    ...(input.accounts.length ? { registries: accountsBlock(input.accounts) } : {}),
  });
  return {
    environment: {
      [ENV.config]: FARGATE_CONFIG_PATH,
      [INLINE_CONFIG_ENV]: configYaml,
      [ENV.listen]: `0.0.0.0:${FARGATE_PORT}`,
      [ENV.publicUrl]: `https://${input.domain}`,
      // Only downloads in progress live here in S3 mode: the task's ephemeral storage, writable by node.
      [ENV.dataDir]: '/tmp/docxy',
      [ENV.cacheStore]: 's3',
      [ENV.s3Bucket]: input.bucket,
      [ENV.s3Region]: input.region,
    },
    entryPoint: ['/bin/sh', '-c'],
    // umask: the key file is the node user's alone. unset: the key stays out of the mirror's environment.
    // exec: node stays PID 1 and receives ECS's SIGTERM itself (graceful drain).
    command: [
      [
        'umask 077',
        `printf '%s' "$${INLINE_CONFIG_ENV}" > ${FARGATE_CONFIG_PATH}`,
        ...(proxy ? [`printf '%s\\n' "$${SIGNING_KEY_ENV}" > ${FARGATE_SIGNING_KEY_PATH}`, `unset ${SIGNING_KEY_ENV}`] : []),
        `exec node ${MIRROR_MAIN} serve`,
      ].join(' && '),
    ],
  };
}

export interface Ec2MirrorInput {
  domain: string;
  /** proxy: the mirror signs tokens with the key it generates once on the data volume. */
  authMode: 'passthrough' | 'proxy';
  acmeEmail?: string;
  acmeDirectoryUrl?: string;
  acmeStaging: boolean;
  cacheMaxSize: string;
  accounts: AccountRef[];
}

/** The config file an EC2 host mounts at EC2_CONFIG_PATH: HTTPS with built-in ACME, cache on the data volume. */
export function ec2MirrorConfig(input: Ec2MirrorInput): string {
  return renderConfig({
    listen: `0.0.0.0:${EC2_PORTS.https.container}`,
    publicUrl: `https://${input.domain}`,
    dataDir: CONTAINER_DATA_DIR,
    ...(input.authMode === 'proxy' ? { auth: { mode: 'proxy' } } : {}),
    cache: { store: 'fs', maxSize: input.cacheMaxSize },
    acme: {
      domains: [input.domain],
      // Challenges, /healthz and a redirect to HTTPS; the host publishes it as port 80.
      httpListen: `0.0.0.0:${EC2_PORTS.acme.container}`,
      ...(input.acmeEmail ? { email: input.acmeEmail } : {}),
      ...(input.acmeDirectoryUrl ? { directoryUrl: input.acmeDirectoryUrl } : {}),
      ...(input.acmeStaging ? { staging: true } : {}),
    },
    ...(input.accounts.length ? { registries: accountsBlock(input.accounts) } : {}),
  });
}
