/**
 * The process logger (pino, one JSON line per event). Credentials never reach a log:
 * headers are not logged at all, and the paths below are redacted as a second guard.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: undefined, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
}

const SECRET_PARAMS = /([?&](?:password|refresh_token|token|access_token|client_secret)=)[^&]*/gi;

/** A URL fit for a log line: secret-looking query parameters are blanked. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
}

export type { Logger };
