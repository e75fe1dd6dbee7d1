/**
 * The process logger (pino, one JSON line per event). Credentials never reach a log:
 * headers are not logged at all, and the paths below are redacted as a second guard.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import { prettyStream } from './observe/pretty-log.js';

export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'password',
  '*.password',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'refresh_token',
  '*.refresh_token',
];

/**
 * Lines go to `destination` as JSON; without one, to stdout: JSON, or readable lines when
 * stdout is a terminal (a person is watching; containers and files get JSON).
 */
export function createLogger(level: string, destination?: DestinationStream, stdout: NodeJS.WriteStream = process.stdout): Logger {
  const options = { level, base: undefined, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (destination) return pino(options, destination);
  if (stdout.isTTY) return pino(options, prettyStream(stdout, !process.env.NO_COLOR));
  // The real stdout keeps pino's own destination (written synchronously: nothing lost at exit).
  return stdout === process.stdout ? pino(options) : pino(options, stdout);
}

/**
 * Parameter names that carry a secret, matched on the name as the mirror decodes it
 * (`pass%77ord` is `password`; `password[]`, `api-key`, `X-Amz-Signature` included),
 * lower-cased with everything but letters and digits removed.
 */
const CREDENTIAL_NAME = /pass|pwd|secret|token|apikey|credential|signature|session|auth|cookie|^key$|^sig$|privatekey|accesskey/;

function isCredentialName(raw: string): boolean {
  let name = raw.replace(/\+/g, ' ');
  // Lenient like URLSearchParams: an invalid escape stays as it is.
  name = name.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
  return CREDENTIAL_NAME.test(name.toLowerCase().replace(/[^a-z0-9]/g, ''));
}

/**
 * A URL fit for a log line: the value of every credential-shaped parameter is blanked,
 * in the query (`?a=1&password=…`) and in path parameters (`/x;password=…/y`).
 */
export function redactUrl(url: string): string {
  const mark = url.indexOf('?');
  const path = mark < 0 ? url : url.slice(0, mark);
  const query = mark < 0 ? '' : url.slice(mark);
  const blank = (whole: string, sep: string, name: string): string => (isCredentialName(name) ? `${sep}${name}=[redacted]` : whole);
  // Path parameters end at the next segment; query values at the next & (or ;, which some servers also split on).
  return path.replace(/(;)([^;=/]*)=([^;/]*)/g, blank) + query.replace(/([?&;])([^&;=]*)=([^&;]*)/g, blank);
}

export type { Logger };
