/**
 * The Fetcher port: one upstream HTTP exchange. Layers (redirects, retry, auth) wrap a
 * base Fetcher and keep this shape, so each layer is one concern and testable alone.
 */
import type { Readable } from 'node:stream';

export interface FetchRequest {
  url: URL;
  method: 'GET' | 'HEAD' | 'POST';
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface FetchResponse {
  status: number;
  url: URL;
  headers: Headers;
  /** Null for HEAD and bodiless statuses. Errors (idle timeout, reset) surface as stream errors. */
  body: Readable | null;
}

export type Fetcher = (request: FetchRequest) => Promise<FetchResponse>;

/** Drops a response body we will not read, so its socket goes back to the pool. */
export function discard(response: FetchResponse): void {
  response.body?.resume();
  response.body?.on('error', () => {});
}
