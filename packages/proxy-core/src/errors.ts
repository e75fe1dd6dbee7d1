/**
 * Registry errors with stable codes, rendered once by the HTTP edge as
 * `{"errors":[{"code","message","detail"}]}`. One table maps code → HTTP status
 * (OCI distribution spec, "Error Codes"), so no caller picks a status by hand.
 */
import type { Challenge } from './auth/challenge.js';

export const ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 404,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  RANGE_INVALID: 416,
  UNAVAILABLE: 502,
  UNKNOWN: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_STATUS, code);
}

export interface RegistryErrorOptions {
  /** Override the table's status (e.g. 504 for an upstream timeout, 503 from upstream). */
  status?: number;
  detail?: unknown;
  /** Response headers that belong to this error (Retry-After, WWW-Authenticate, ...). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: unknown;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: RegistryErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'RegistryError';
    this.code = code;
    this.status = options.status ?? ERROR_STATUS[code];
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }

  toJSON(): { errors: Array<{ code: string; message: string; detail?: unknown }> } {
    const entry: { code: string; message: string; detail?: unknown } = { code: this.code, message: this.message };
    if (this.detail !== undefined) entry.detail = this.detail;
    return { errors: [entry] };
  }
}

/** An upstream 401, with the upstream's challenge so the edge can re-issue its own. */
export class UpstreamAuthError extends RegistryError {
  constructor(
    message: string,
    readonly challenge: Challenge | undefined,
    detail?: unknown,
  ) {
    super('UNAUTHORIZED', message, { detail });
    this.name = 'UpstreamAuthError';
  }
}

/** Timeouts and connection failures talking to an upstream; mapped to UNAVAILABLE (502/504). */
export class UpstreamUnavailableError extends RegistryError {
  constructor(
    message: string,
    readonly kind: 'connect' | 'headers' | 'idle' | 'network',
    cause?: unknown,
  ) {
    super('UNAVAILABLE', message, { status: kind === 'network' ? 502 : 504, cause });
    this.name = 'UpstreamUnavailableError';
  }
}
