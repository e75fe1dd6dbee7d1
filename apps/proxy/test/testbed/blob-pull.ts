/** Pulls one blob through the mirror as a client would, reporting how the transfer ended. */
import http from 'node:http';
import { createHash } from 'node:crypto';

export interface BlobPull {
  status: number;
  digest: string;
  bytes: number;
  /** 'end' for a complete transfer, 'error' when the connection broke mid-body. */
  outcome: 'end' | 'error';
  headers: http.IncomingHttpHeaders;
}

export function pullBlob(
  base: string,
  path: string,
  headers: Record<string, string> = {},
  onFirstBytes?: (req: http.ClientRequest) => void,
): Promise<BlobPull> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, { headers }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      let first = true;
      let finished = false;
      const done = (outcome: 'end' | 'error'): void => {
        if (finished) return;
        finished = true;
        resolve({ status: res.statusCode ?? 0, digest: `sha256:${hash.digest('hex')}`, bytes, outcome, headers: res.headers });
      };
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
        if (first) {
          first = false;
          onFirstBytes?.(req);
        }
      });
      res.once('end', () => done(res.complete ? 'end' : 'error'));
      res.once('error', () => done('error'));
      res.once('aborted', () => done('error'));
    });
    req.on('error', (err) => (req.destroyed ? resolve({ status: 0, digest: '', bytes: 0, outcome: 'error', headers: {} }) : reject(err)));
  });
}
