/**
 * `docxy healthcheck`: GET /healthz on the address this configuration listens on (the
 * image's HEALTHCHECK). Reads the same configuration `serve` loads, so it follows a
 * config file's `listen`; HTTPS when `tls` or `acme` is on. Exit 0 healthy, 1 not.
 */
import http from 'node:http';
import https from 'node:https';
import { loadConfig } from '../config/load.js';
import { splitListen } from '../server.js';
import { CONFIG_OPTION, type Command } from './command.js';

const WILDCARDS = new Set(['', '0.0.0.0', '::']);

export const healthcheck: Command = {
  name: 'healthcheck',
  summary: "Asks the mirror this configuration describes for /healthz (the image's HEALTHCHECK).",
  usage: '[--config FILE] [--timeout SECONDS]',
  help: [
    '  -c, --config FILE   YAML configuration (also DOCXY_CONFIG); DOCXY_* variables override it',
    '  -t, --timeout S     give up after this many seconds (default 4)',
  ],
  options: { ...CONFIG_OPTION, timeout: { type: 'string', short: 't', default: '4' } },
  async run(values) {
    const config = loadConfig({ argv: values.config ? ['--config', values.config as string] : [], env: process.env });
    const { host, port } = splitListen(config.listen);
    const client = config.tls || config.acme ? https : http;
    const timeout = Number(values.timeout) * 1000;
    const healthy = await new Promise<boolean>((resolve) => {
      const request = client.get(
        // A wildcard bind is asked on loopback; the certificate names the public domain, not
        // the loopback address, so it is not verified here (this is a liveness probe).
        { host: WILDCARDS.has(host) ? '127.0.0.1' : host, port, path: '/healthz', rejectUnauthorized: false, timeout },
        (response) => {
          response.resume();
          resolve(response.statusCode === 200);
        },
      );
      request.on('timeout', () => request.destroy());
      request.on('error', () => resolve(false));
    });
    if (!healthy) process.stderr.write(`docxy healthcheck: ${config.listen} is not healthy\n`);
    return healthy ? 0 : 1;
  },
};
