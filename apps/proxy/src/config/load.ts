/**
 * Loads configuration: embedded defaults ← YAML file (DOCXY_CONFIG or --config) ←
 * DOCXY_* environment variables, then validates once. Errors name the offending key.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config, type ConfigInput, type ResolvedRegistry } from './schema.js';
import { CATALOGUE } from './catalogue.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A comma-separated list ("a.example.com, b.example.com"). */
const list = (value: string): string[] =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
/** "true"/"1"/"yes" or "false"/"0"/"no"; anything else is left for the schema to reject. */
const bool = (value: string): unknown =>
  ({ true: true, '1': true, yes: true, false: false, '0': false, no: false })[value.toLowerCase()] ?? value;

/** Environment variable → config path (and how the text becomes a value). The TLS names are the seed's. */
const ENV_KEYS: Array<[string, string[], ((value: string) => unknown)?]> = [
  ['DOCXY_LISTEN', ['listen']],
  ['DOCXY_PUBLIC_URL', ['publicUrl']],
  ['DOCXY_DATA_DIR', ['dataDir']],
  ['DOCXY_CERT_PATH', ['tls', 'cert']],
  ['DOCXY_KEY_PATH', ['tls', 'key']],
  ['DOCXY_LOG_LEVEL', ['log', 'level']],
  ['DOCXY_DEFAULT_REGISTRY', ['defaultRegistry']],
  ['DOCXY_CACHE_STORE', ['cache', 'store']],
  ['DOCXY_CACHE_MAX_SIZE', ['cache', 'maxSize']],
  ['DOCXY_S3_BUCKET', ['cache', 's3', 'bucket']],
  ['DOCXY_S3_REGION', ['cache', 's3', 'region']],
  ['DOCXY_S3_ENDPOINT', ['cache', 's3', 'endpoint']],
  ['DOCXY_ACME_DOMAINS', ['acme', 'domains'], list],
  ['DOCXY_ACME_EMAIL', ['acme', 'email']],
  ['DOCXY_ACME_DIRECTORY_URL', ['acme', 'directoryUrl']],
  ['DOCXY_ACME_STAGING', ['acme', 'staging'], bool],
  ['DOCXY_ACME_CA_BUNDLE', ['acme', 'caBundle']],
  ['DOCXY_ACME_HTTP_LISTEN', ['acme', 'httpListen']],
];

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

export function configPathFrom(argv: string[], env: NodeJS.ProcessEnv): string | undefined {
  const index = argv.findIndex((arg) => arg === '--config' || arg.startsWith('--config='));
  if (index >= 0) {
    const arg = argv[index]!;
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[index + 1];
    if (!value) throw new ConfigError('--config needs a file path');
    return value;
  }
  return env.DOCXY_CONFIG || undefined;
}

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${path} must be a YAML mapping`);
  return parsed as Record<string, unknown>;
}

export function loadConfig(options: { argv?: string[]; env?: NodeJS.ProcessEnv } = {}): Config {
  const env = options.env ?? process.env;
  const path = configPathFrom(options.argv ?? [], env);
  // With no file and no environment the schema's defaults apply: Docker Hub on 0.0.0.0:5000, data in ./data.
  const raw: Record<string, unknown> = path ? readFile(path) : {};
  for (const [name, keyPath, parse] of ENV_KEYS) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, keyPath, parse ? parse(value) : value);
  }
  return validateConfig(raw, env);
}

export function validateConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(raw as ConfigInput);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = [...issue.path, ...('keys' in issue && Array.isArray(issue.keys) ? [issue.keys.join(', ')] : [])].join('.');
      return `  ${key || '(root)'}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${problems.join('\n')}`);
  }
  const { registries: overrides, ...rest } = result.data;
  const config: Config = { ...rest, registries: resolveRegistries(overrides, env) };
  if (config.auth.mode === 'proxy' && !config.auth.anonymous && !config.auth.htpasswd)
    throw new ConfigError('invalid configuration:\n  auth.htpasswd: required when auth.anonymous is false (nobody could log in)');
  if (config.cache.store === 's3' && !config.cache.s3)
    throw new ConfigError('invalid configuration:\n  cache.s3: required when cache.store is "s3"');
  if (config.cache.redirect && config.cache.store !== 's3')
    throw new ConfigError('invalid configuration:\n  cache.redirect: needs cache.store "s3"');
  if (config.acme && config.tls)
    throw new ConfigError(
      'invalid configuration:\n  acme: give either tls (certificate files) or acme (certificates obtained by the mirror), not both',
    );
  if (!config.registries[config.defaultRegistry])
    throw new ConfigError(`invalid configuration:\n  defaultRegistry: "${config.defaultRegistry}" is not in registries`);
  return config;
}

/** An account's secret, from the config, a file (platform-mounted secret) or the environment. */
function readSecret(
  account: { password?: string; passwordFile?: string; passwordEnv?: string },
  key: string,
  env: NodeJS.ProcessEnv,
): string {
  if (account.password !== undefined) return account.password;
  if (account.passwordFile !== undefined) {
    try {
      return readFileSync(account.passwordFile, 'utf8').trim();
    } catch {
      throw new ConfigError(`invalid configuration:\n  ${key}.passwordFile: cannot read ${account.passwordFile}`);
    }
  }
  const value = env[account.passwordEnv!];
  if (!value) throw new ConfigError(`invalid configuration:\n  ${key}.passwordEnv: ${account.passwordEnv} is not set`);
  return value;
}

/** Catalogue ← configuration; disabled entries dropped; an unknown name needs a url. */
function resolveRegistries(
  overrides: z.output<typeof configSchema>['registries'],
  env: NodeJS.ProcessEnv,
): Record<string, ResolvedRegistry> {
  const out: Record<string, ResolvedRegistry> = {};
  for (const name of new Set([...Object.keys(CATALOGUE), ...Object.keys(overrides)])) {
    const base = CATALOGUE[name];
    const entry = overrides[name];
    if (entry && !entry.enabled) continue;
    const url = entry?.url ?? base?.url;
    if (!url)
      throw new ConfigError(`invalid configuration:\n  registries.${name}.url: required for a registry outside the built-in catalogue`);
    const accounts = (entry?.accounts ?? []).map((account, index) => ({
      username: account.username,
      password: readSecret(account, `registries.${name}.accounts.${index}`, env),
    }));
    out[name] = {
      url,
      trustedRealms: entry?.trustedRealms ?? base?.trustedRealms ?? [],
      hosts: entry?.hosts ?? [],
      accounts,
      fallbacks: entry?.fallbacks ?? [],
    };
  }
  const seen = new Map<string, string>();
  for (const [name, registry] of Object.entries(out)) {
    for (const host of registry.hosts) {
      if (seen.has(host))
        throw new ConfigError(`invalid configuration:\n  registries.${name}.hosts: "${host}" is already an alias of ${seen.get(host)}`);
      seen.set(host, name);
    }
  }
  return out;
}

/**
 * The public URL used in challenges: configured, else the first ACME domain (clients reach
 * it on 443, whatever port the mirror binds behind a port mapping), else derived from the
 * bound address (loopback for a wildcard bind). Never from a request's Host header.
 */
export function publicUrlOf(config: Config, bound: { address: string; port: number }): URL {
  if (config.publicUrl) return new URL(config.publicUrl);
  if (config.acme) return new URL(`https://${config.acme.domains[0]}`);
  const wildcard = bound.address === '0.0.0.0' || bound.address === '::';
  const host = wildcard ? '127.0.0.1' : bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  return new URL(`${config.tls ? 'https' : 'http'}://${host}:${bound.port}`);
}
