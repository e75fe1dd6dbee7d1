/** Wires configuration into a running mirror; used by main.ts and by end-to-end tests. */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { createApp } from './app.js';
import { publicUrlOf } from './config/load.js';
import type { Config } from './config/schema.js';
import { createLogger, type Logger } from './logger.js';
import { createFetcher, createRouter } from './registries.js';
import { createCache, type Cache } from './cache.js';
import { createServer, listen, type RunningServer } from './server.js';

export interface Mirror extends RunningServer {
  logger: Logger;
  publicUrl: URL;
  cache: Cache;
  /** Drains the server, then releases the cache's connections. */
  stop(): Promise<void>;
}

export async function startMirror(config: Config, logDestination?: DestinationStream): Promise<Mirror> {
  const logger = createLogger(config.log.level, logDestination);
  mkdirSync(config.dataDir, { recursive: true });
  const cache = await createCache(config, logger);
  const router = createRouter(config, createFetcher(config), cache);
  const running = await listen(createServer(config), config.listen, config.server.drainTimeoutMs);
  // The realm needs the bound port (listen may say port 0), so the app is attached after listen.
  const publicUrl = publicUrlOf(config, running.server.address() as AddressInfo);
  if (!config.publicUrl) logger.warn({ publicUrl: publicUrl.href }, 'publicUrl not configured: clients on other hosts will be sent to this address for tokens; set publicUrl');
  running.server.on('request', createApp({ router, publicUrl, logger }).callback());
  logger.info({ url: running.url, publicUrl: publicUrl.href, registries: Object.keys(config.registries), dataDir: config.dataDir, cache: { store: config.cache.store, maxSize: cache.maxSize } }, 'docxy listening');
  const stop = async (): Promise<void> => {
    await running.drain();
    // Fills outlive their clients; let them commit before the store's connections close.
    await cache.fills.settle();
    cache.close();
  };
  return { ...running, logger, publicUrl, cache, stop };
}
