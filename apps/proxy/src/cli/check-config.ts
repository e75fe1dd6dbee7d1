/**
 * `docxy check-config`: validates the configuration as `serve` would and prints the
 * effective result (catalogue merged, defaults filled in) as YAML with secrets masked.
 * Exit 0 when valid, 2 with a message naming the bad key otherwise: usable in CI.
 */
import { stringify } from 'yaml';
import { loadConfig } from '../config/load.js';
import { CONFIG_OPTION, type Command } from './command.js';

/** Keys whose values are credentials (file and variable names are not). */
const SECRET_KEYS = /^(password|secretAccessKey|accessKeyId|token|secret)$/;

export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [key, SECRET_KEYS.test(key) && v !== undefined ? '********' : maskSecrets(v)]),
  );
}

export const checkConfig: Command = {
  name: 'check-config',
  summary: 'Validates the configuration and prints the effective one, secrets masked.',
  usage: '[--config FILE] [--quiet]',
  help: [
    '  -c, --config FILE   YAML configuration (also DOCXY_CONFIG); DOCXY_* variables override it',
    '  -q, --quiet         print nothing when the configuration is valid',
  ],
  options: { ...CONFIG_OPTION, quiet: { type: 'boolean', short: 'q' } },
  async run(values) {
    const config = loadConfig({ argv: values.config ? ['--config', values.config as string] : [], env: process.env });
    if (!values.quiet) process.stdout.write(stringify(maskSecrets(config)));
    return 0;
  },
};
