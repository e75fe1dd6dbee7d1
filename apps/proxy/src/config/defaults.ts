/**
 * The embedded defaults: with no file and no environment, Docxy mirrors Docker Hub (and
 * the catalogue's other registries, by path prefix or ?ns=) on 0.0.0.0:5000 with its data in ./data.
 */
import type { ConfigInput } from './schema.js';

export const EMBEDDED_DEFAULTS: ConfigInput = {
  listen: '0.0.0.0:5000',
  dataDir: './data',
  defaultRegistry: 'docker.io',
};
