/**
 * The "CDN" origin, on another loopback address, like Docker Hub's blob host: serves
 * blob files straight from the registry's storage directory when the registry
 * redirects to it. It must never see an `Authorization` header; it records every request.
 */
import { createReadStream, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { startHttp, type Started } from './http-server.js';

export interface CdnCall {
  method: string;
  path: string;
  authorization: string | undefined;
  range: string | undefined;
}

export interface Cdn extends Started {
  calls: CdnCall[];
}

export async function startCdn(storageRoot: string, host = '127.0.0.2'): Promise<Cdn> {
  const calls: CdnCall[] = [];
  const started = await startHttp((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    calls.push({ method: req.method ?? 'GET', path, authorization: req.headers.authorization, range: req.headers.range });
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
    const end = range && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'content-length': end - start + 1, 'accept-ranges': 'bytes' };
    if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file, { start, end }).pipe(res);
  }, host);
  return { ...started, calls };
}
