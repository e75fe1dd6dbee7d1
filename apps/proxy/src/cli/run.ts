/**
 * `docxy <command> [options]`. Without a command (or with options only) it serves, so
 * `node dist/main.js --config x.yml` keeps working. Exit status: 0 ok, 1 the command
 * failed, 2 bad usage or configuration (the message names the argument or key).
 */
import { ConfigError } from '../config/load.js';
import { checkConfig } from './check-config.js';
import { type Command, helpText, parse, UsageError } from './command.js';
import { gc } from './gc.js';
import { healthcheck } from './healthcheck.js';
import { prefetch } from './prefetch.js';
import { serve } from './serve.js';

const COMMANDS: Command[] = [serve, checkConfig, prefetch, gc, healthcheck];

function overview(): string {
  return [
    'usage: docxy <command> [options]',
    '',
    'A self-hosted Docker/OCI registry mirror.',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(14)}${c.summary}`),
    '',
    'docxy <command> --help describes a command. Without a command, docxy serves.',
    '',
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(overview());
    return 0;
  }
  const named = first !== undefined && !first.startsWith('-');
  const command = named ? COMMANDS.find((c) => c.name === first) : serve;
  if (!command) {
    process.stderr.write(`docxy: unknown command '${first}'\n\n${overview()}`);
    return 2;
  }
  try {
    const { values, positionals } = parse(command, named ? rest : argv);
    if (values.help) {
      process.stdout.write(helpText(command));
      return 0;
    }
    return await command.run(values, positionals);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`docxy ${command.name}: ${err.message}\nusage: docxy ${command.name} ${command.usage}\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`docxy: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
