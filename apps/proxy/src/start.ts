/** Wires configuration into a running mirror; used by main.ts and by end-to-end tests. */
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { urlHostKind } from '@docxy/proxy-core';
import { createApp } from './app.js';
import { publicUrlOf } from './config/load.js';
import type { Config } from './config/schema.js';
import { createLogger, type Logger } from './logger.js';
import { createFetcher, createRouter } from './registries.js';
import { createCache, type Cache } from './cache.js';
import { PassthroughAuth, ProxyAuth, type ClientAuth } from './auth/client-auth.js';
import { ProxyTokens } from './auth/proxy-tokens.js';
import { loadSigningKey } from './auth/signing-key.js';
import { Htpasswd } from './auth/htpasswd.js';
import { AccessPolicy } from './access/policy.js';
import { createServer, listen, type RunningServer } from './server.js';
import { createObservability } from './observe/observability.js';
import { startHttpsCertificates } from './tls/https-certificates.js';

export interface Mirror extends RunningServer {
  logger: Logger;
  publicUrl: URL;
  cache: Cache;
  /** Drains the server, then releases the cache's connections. */
  stop(): Promise<void>;
}

function createClientAuth(config: Config, publicUrl: URL, logger: Logger): ClientAuth {
  const withAccounts = Object.entries(config.registries)
    .filter(([, r]) => r.accounts.length > 0)
    .map(([name]) => name);
  if (config.auth.mode === 'passthrough') {
    if (withAccounts.length)
      logger.warn(
        { registries: withAccounts },
        'upstream accounts are used in auth.mode "proxy" only; passthrough relays each client\'s own credentials',
      );
    return new PassthroughAuth();
  }
  if (withAccounts.length && config.auth.anonymous) {
    logger.warn(
      { registries: withAccounts },
      'ANONYMOUS ACCESS IS ON WHILE UPSTREAM ACCOUNTS ARE CONFIGURED: anyone who reaches this mirror can pull whatever those accounts can read',
    );
  }
  const tokens = new ProxyTokens(loadSigningKey(config.auth.signingKey, config.dataDir), publicUrl.host, config.auth.tokenTtl);
  return new ProxyAuth(
    tokens,
    config.auth.htpasswd
      ? Htpasswd.load(config.auth.htpasswd, (message) => logger.error({ htpasswd: config.auth.htpasswd }, message))
      : undefined,
    config.auth.anonymous,
  );
}

/**
 * Registry URLs the address policy will refuse, told at start-up rather than as a 502 on
 * the first pull. Known without DNS: IP literals and "localhost" names (see urlHostKind).
 */
function warnRefusedUpstreams(config: Config, logger: Logger): void {
  for (const [registry, entry] of Object.entries(config.registries)) {
    for (const url of [entry.url, ...entry.fallbacks]) {
      const kind = urlHostKind(new URL(url));
      if (kind === 'private' && !config.upstream.allowPrivateNetworks)
        logger.warn(
          { registry, url },
          `registry ${registry} is configured on a loopback or private address (${url}) that upstream.allowPrivateNetworks: false refuses; set upstream.allowPrivateNetworks: true for an internal registry`,
        );
      if (kind === 'forbidden')
        logger.warn(
          { registry, url },
          `registry ${registry} is configured on a link-local or metadata address (${url}), which is always refused, whatever upstream.allowPrivateNetworks says`,
        );
    }
  }
}

export async function startMirror(config: Config, logDestination?: DestinationStream): Promise<Mirror> {
  const logger = createLogger(config.log.level, logDestination);
  warnRefusedUpstreams(config, logger);
  const observability = createObservability({ config, logger });
  const cache = await createCache(config, logger);
  const router = createRouter(config, createFetcher(config), cache, observability.events);
  // tls files are read (a bad pair stops start-up) and ACME's port-80 listener is up before the mirror listens.
  const certificates = await startHttpsCertificates(config, logger);
  certificates?.slot.subscribe((certificate) => observability.certificateExpiry(certificate.notAfter));
  const running = await listen(createServer(config, certificates?.slot), config.listen, config.server.drainTimeoutMs).catch(
    async (err: unknown) => {
      await certificates?.stop();
      throw err;
    },
  );
  // The realm needs the bound port (listen may say port 0), so the app is attached after listen.
  const publicUrl = publicUrlOf(config, running.server.address() as AddressInfo);
  if (!config.publicUrl && !config.acme)
    logger.warn(
      { publicUrl: publicUrl.href },
      'publicUrl not configured: clients on other hosts will be sent to this address for tokens; set publicUrl',
    );
  const auth = createClientAuth(config, publicUrl, logger);
  observability.attach({ cache, router, publicUrl });
  const app = createApp({ router, publicUrl, logger, auth, policy: new AccessPolicy(config.access), observability });
  running.server.on('request', app.callback());
  await observability.start();
  logger.info(
    {
      url: running.url,
      publicUrl: publicUrl.href,
      registries: Object.keys(config.registries),
      dataDir: config.dataDir,
      cache: { store: config.cache.store, maxSize: cache.maxSize },
    },
    'docxy listening',
  );
  const stop = async (): Promise<void> => {
    const deadline = Date.now() + config.server.drainTimeoutMs;
    await observability.stop();
    await certificates?.stop();
    await running.drain();
    // Fills outlive their clients: let them commit before the store's connections close,
    // but only within the drain timeout (a container runtime kills us soon after anyway).
    await cache.fills.settle(deadline - Date.now());
    cache.close();
  };
  return { ...running, logger, publicUrl, cache, stop };
}
