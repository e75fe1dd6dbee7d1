/**
 * The floors the cold path is measured against, as a process of its own so its CPU time
 * can be read like the mirror's: `/pipe/<path>` relays `<origin><path>` with a bare
 * `http.get → res` pipe; `/spool/<path>` also hashes it (sha256) and writes it to a spool
 * file, which is the least a verifying, caching mirror must do with a cold blob.
 *
 *   node floor-server.js <origin> <spoolDir>    (prints the URL it listens on)
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

const [origin, spoolDir] = process.argv.slice(2) as [string, string];

const server = http.createServer((req, res) => {
  const [, mode, ...rest] = (req.url ?? '/').split('/');
  const upstream = http.get(`${origin}/${rest.join('/')}`, (answer) => {
    res.writeHead(answer.statusCode ?? 502, { 'content-length': answer.headers['content-length'] ?? '' });
    if (mode === 'spool') {
      const hash = createHash('sha256');
      const spool = join(spoolDir, randomUUID());
      answer.on('data', (chunk: Buffer) => hash.update(chunk));
      // The spool is kept, as a cache keeps what it fetched: on this VM, writing into
      // page cache freed by a deleted file is several times cheaper than into new pages.
      answer.pipe(createWriteStream(spool)).on('close', () => hash.digest('hex'));
    }
    answer.pipe(res);
  });
  upstream.on('error', () => res.destroy());
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
