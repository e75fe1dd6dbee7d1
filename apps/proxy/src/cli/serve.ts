/** `docxy serve`: load the configuration, listen, drain on SIGTERM/SIGINT. */
import { loadConfig } from '../config/load.js';
import { tuneGarbageCollector } from '../runtime/gc-tuning.js';
import { startMirror } from '../start.js';
import { CONFIG_OPTION, type Command } from './command.js';

export const serve: Command = {
  name: 'serve',
  summary: 'Runs the mirror (the default command).',
  usage: '[--config FILE]',
  help: ['  -c, --config FILE   YAML configuration (also DOCXY_CONFIG); DOCXY_* variables override it'],
  options: CONFIG_OPTION,
  async run(values) {
    tuneGarbageCollector();
    const config = loadConfig({ argv: values.config ? ['--config', values.config as string] : [], env: process.env });
    const mirror = await startMirror(config);
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        mirror.logger.info({ signal }, 'draining');
        void mirror.stop().then(() => {
          mirror.logger.info('stopped');
          resolve();
        });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
    return 0;
  },
};
