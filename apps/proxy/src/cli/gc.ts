/**
 * `docxy gc --max-size SIZE`: evicts least recently used blobs from the filesystem store
 * until it holds at most SIZE. Safe beside a running mirror: it never touches `tmp/`
 * (downloads in progress), and a running mirror forgets a blob removed under it on its
 * next read. The S3 store is sized by a bucket lifecycle rule instead.
 */
import { FsBlobStore } from '@docxy/proxy-core';
import { loadConfig } from '../config/load.js';
import { sizeBytes } from '../config/units.js';
import { CONFIG_OPTION, type Command, UsageError } from './command.js';
import { formatBytes } from './format.js';

export const gc: Command = {
  name: 'gc',
  summary: 'Evicts least recently used blobs from the filesystem cache down to a size.',
  usage: '--max-size SIZE [--config FILE] [--dry-run]',
  help: [
    '      --max-size SIZE keep at most this much, e.g. "20GB", "512MiB" (required)',
    '  -c, --config FILE   YAML configuration: where the data directory is',
    '  -n, --dry-run       say what would be evicted, evict nothing',
  ],
  options: { ...CONFIG_OPTION, 'max-size': { type: 'string' }, 'dry-run': { type: 'boolean', short: 'n' } },
  async run(values) {
    if (values['max-size'] === undefined) throw new UsageError("option '--max-size' is required");
    const parsed = sizeBytes.safeParse(values['max-size']);
    if (!parsed.success) throw new UsageError(`option '--max-size': ${parsed.error.issues[0]?.message}`);
    const maxSize = parsed.data;
    const config = loadConfig({ argv: values.config ? ['--config', values.config as string] : [], env: process.env });
    if (config.cache.store !== 'fs') {
      process.stderr.write('docxy gc: the S3 store is sized by a bucket lifecycle rule, not by gc\n');
      return 2;
    }
    let evicted = 0;
    const store = new FsBlobStore({ root: config.dataDir, maxSize, onEvict: () => evicted++ });
    await store.load();
    const before = { blobs: store.index.size, bytes: store.index.total };
    if (values['dry-run']) {
      const victims = store.index.victims(before.bytes - maxSize);
      const bytes = victims.reduce((sum, d) => sum + (store.index.sizeOf(d) ?? 0), 0);
      process.stdout.write(
        `would evict ${victims.length} blobs (${formatBytes(bytes)}) of ${before.blobs} (${formatBytes(before.bytes)})\n`,
      );
      return 0;
    }
    const freed = await store.evict();
    process.stdout.write(
      `evicted ${evicted} blobs (${formatBytes(freed)}); ${store.index.size} blobs (${formatBytes(store.index.total)}) remain, limit ${formatBytes(maxSize)}\n`,
    );
    return 0;
  },
};
