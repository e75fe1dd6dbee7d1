#!/usr/bin/env node
/** Entry point: load configuration, listen, drain on SIGTERM/SIGINT. */
import { ConfigError, loadConfig } from './config/load.js';
import { startMirror } from './start.js';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ argv: process.argv.slice(2), env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`docxy: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const mirror = await startMirror(config);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    mirror.logger.info({ signal }, 'draining');
    void mirror.stop().then(() => {
      mirror.logger.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`docxy: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
