/**
 * The embedded defaults: with no file and no environment, Docxy mirrors Docker Hub on
 * 0.0.0.0:5000 with its data in ./data. Registries the operator lists are merged over these.
 */
import type { ConfigInput } from './schema.js';

export const DEFAULT_REGISTRIES = {
  'docker.io': {
    url: 'https://registry-1.docker.io',
    trustedRealms: ['https://auth.docker.io/token'],
  },
} as const;

export const EMBEDDED_DEFAULTS: ConfigInput = {
  listen: '0.0.0.0:5000',
  dataDir: './data',
  defaultRegistry: 'docker.io',
};
