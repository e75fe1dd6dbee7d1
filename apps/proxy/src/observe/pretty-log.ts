/**
 * Human-readable log lines for a terminal: `12:03:04.567 INFO  request  method=GET url=/v2/… status=200`.
 * Only used when stdout is a TTY; everywhere else (containers, files, tests) the lines
 * stay JSON for machines. Takes pino's JSON lines and rewrites them; no dependency.
 */
import { Writable } from 'node:stream';

const LEVELS: Record<number, { name: string; color: number }> = {
  10: { name: 'TRACE', color: 90 },
  20: { name: 'DEBUG', color: 36 },
  30: { name: 'INFO ', color: 32 },
  40: { name: 'WARN ', color: 33 },
  50: { name: 'ERROR', color: 31 },
  60: { name: 'FATAL', color: 35 },
};

const shown = (value: unknown): string => {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  return JSON.stringify(value);
};

/** One pino JSON line as a terminal line; anything that is not JSON passes through unchanged. */
export function prettyLine(line: string, colors = true): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { level, time, msg, ...fields } = record;
  const info = LEVELS[level as number] ?? { name: String(level).padEnd(5), color: 0 };
  const paint = (code: number, text: string): string => (colors ? `\x1b[${code}m${text}\x1b[0m` : text);
  const clock = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  const rest = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${paint(90, `${key}=`)}${shown(value)}`)
    .join(' ');
  return `${paint(90, clock)} ${paint(info.color, info.name)} ${msg ?? ''}${rest ? `  ${rest}` : ''}`;
}

export function prettyStream(out: NodeJS.WritableStream, colors = true): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line) out.write(`${prettyLine(line, colors)}\n`);
      done();
    },
  });
}
