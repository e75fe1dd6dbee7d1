/**
 * One `docxy` subcommand: its name, a one-line summary, its options (node:util
 * parseArgs, strict: an unknown or malformed option is an error naming it) and its body.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  name: string;
  summary: string;
  /** Usage line after `docxy <name>`, e.g. `[--config FILE] <image>...`. */
  usage: string;
  /** Lines describing each option and argument, shown by --help. */
  help: string[];
  options: Options;
  /** Takes positional arguments? */
  positionals?: boolean;
  /** Runs the command; resolves to the process exit status. */
  run(values: Record<string, string | boolean | string[] | undefined>, positionals: string[]): Promise<number>;
}

/** A usage error: printed with the command's usage line, exit status 2. */
export class UsageError extends Error {}

export const CONFIG_OPTION: Options = { config: { type: 'string', short: 'c' } };

export function parse(
  command: Command,
  argv: string[],
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.positionals ?? false,
      strict: true,
    });
    return { values, positionals };
  } catch (err) {
    // parseArgs names the option: "Unknown option '--foo'", "Option '--max-size' argument missing".
    throw new UsageError((err as Error).message);
  }
}

export function helpText(command: Command): string {
  return [
    `usage: docxy ${command.name} ${command.usage}`.trimEnd(),
    '',
    command.summary,
    '',
    ...command.help,
    '  -h, --help          this help',
    '',
  ].join('\n');
}
