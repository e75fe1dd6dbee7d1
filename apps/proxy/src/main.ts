#!/usr/bin/env node
/** Entry point of the `docxy` command (see cli/run.ts); `pnpm start` runs it without arguments: serve. */
import { run } from './cli/run.js';

run(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    process.stderr.write(`docxy: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
