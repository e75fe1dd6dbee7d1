/**
 * The "CDN" origin, on another loopback address, like Docker Hub's blob host: serves
 * blob files straight from the registry's storage directory when the registry
 * redirects to it. It must never see an `Authorization` header; it records every request.
 */
import { createReadStream, statSync } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { join, normalize } from 'node:path';
import { startHttp, type Started } from './http-server.js';

export interface CdnCall {
  method: string;
  path: string;
  authorization: string | undefined;
  range: string | undefined;
}

/** How the CDN misbehaves for a request (fault injection). */
export interface CdnFault {
  /** Close the connection after this many body bytes. */
  cutAfter?: number;
  /** Flip the byte at this offset of the body. */
  corruptAt?: number;
  /** Pause this long after each chunk (64 KiB–1 MiB). */
  chunkDelayMs?: number;
  /** Pace the body to this rate (a WAN link rather than loopback). */
  bytesPerSecond?: number;
}

export interface Cdn extends Started {
  calls: CdnCall[];
  fault: ((call: CdnCall) => CdnFault | undefined) | undefined;
  /** Body bytes sent, over all requests. */
  bytesSent(): number;
}

export async function startCdn(storageRoot: string, host = '127.0.0.2'): Promise<Cdn> {
  const calls: CdnCall[] = [];
  const state: { fault: Cdn['fault']; sent: number } = { fault: undefined, sent: 0 };
  const started = await startHttp((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const call = { method: req.method ?? 'GET', path, authorization: req.headers.authorization, range: req.headers.range };
    calls.push(call);
    const file = normalize(join(storageRoot, path));
    if (!file.startsWith(storageRoot) || !path.startsWith('/docker/registry/v2/blobs/')) {
      res.writeHead(404).end();
      return;
    }
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range?.[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'content-length': end - start + 1,
      'accept-ranges': 'bytes',
    };
    if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const fault = state.fault?.(call);
    createReadStream(file, { start, end, highWaterMark: 1024 * 1024 })
      .pipe(
        misbehave(
          fault,
          (n) => (state.sent += n),
          () => res.destroy(),
        ),
      )
      .pipe(res);
  }, host);
  return {
    ...started,
    calls,
    bytesSent: () => state.sent,
    get fault() {
      return state.fault;
    },
    set fault(value) {
      state.fault = value;
    },
  };
}

/** Passes bytes through, cutting, corrupting or slowing them as the fault says. */
function misbehave(fault: CdnFault | undefined, count: (n: number) => void, hangUp: () => void): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      let out = chunk;
      if (fault?.corruptAt !== undefined && fault.corruptAt >= offset && fault.corruptAt < offset + chunk.length) {
        out = Buffer.from(chunk);
        out[fault.corruptAt - offset]! ^= 0xff;
      }
      if (fault?.cutAfter !== undefined && offset + out.length > fault.cutAfter) {
        const keep = out.subarray(0, Math.max(0, fault.cutAfter - offset));
        offset += keep.length;
        count(keep.length);
        this.push(keep);
        setTimeout(hangUp, 20);
        return;
      }
      offset += out.length;
      count(out.length);
      const delay = (fault?.chunkDelayMs ?? 0) + (fault?.bytesPerSecond ? (out.length / fault.bytesPerSecond) * 1000 : 0);
      if (delay > 0) setTimeout(() => done(null, out), delay);
      else done(null, out);
    },
  });
}
