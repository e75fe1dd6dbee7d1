/**
 * `tls: {cert, key}` files, reloaded when they change on disk so an external renewal
 * (certbot, a mounted secret) needs no restart. The containing directories are watched,
 * not the files: renewers replace files by rename or swap a symlink (Kubernetes' `..data`),
 * which a watch on the old inode never reports. Any event re-reads both files and installs
 * them only when they differ from what is served and form a valid pair, so a cert written
 * before its key is simply picked up at the next event. A slow poll covers file systems
 * without change events.
 */
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../logger.js';
import { parseCertificate, type ServedCertificate } from './certificate.js';
import type { CertificateSlot } from './certificate-slot.js';

export interface FileCertificatesOptions {
  cert: string;
  key: string;
  slot: CertificateSlot;
  logger: Logger;
  /** Re-read anyway this often (ms). */
  pollMs?: number;
  /** Events arrive in bursts while files are written: wait this long for quiet (ms). */
  settleMs?: number;
}

export interface FileCertificates {
  stop(): void;
}

function readPair(cert: string, key: string): ServedCertificate {
  return parseCertificate(readFileSync(cert, 'utf8'), readFileSync(key, 'utf8'));
}

/** Loads the pair now (throws if unusable: a bad start is a configuration error) and watches it. */
export function watchCertificateFiles(options: FileCertificatesOptions): FileCertificates {
  const { cert, key, slot, logger } = options;
  slot.set(readPair(cert, key));
  let lastProblem = '';
  const reload = (): void => {
    let next: ServedCertificate;
    try {
      next = readPair(cert, key);
    } catch (err) {
      // Mid-renewal states are expected; say so once per distinct problem, keep serving.
      const problem = (err as Error).message;
      if (problem !== lastProblem)
        logger.warn(
          { cert, key, reason: problem },
          'TLS files changed but are not a usable pair yet; still serving the previous certificate',
        );
      lastProblem = problem;
      return;
    }
    lastProblem = '';
    const current = slot.current;
    if (current && current.chainPem === next.chainPem && current.keyPem === next.keyPem) return;
    slot.set(next);
    logger.info({ cert, serial: next.serial, notAfter: next.notAfter.toISOString() }, 'TLS certificate reloaded from disk');
  };

  let settle: NodeJS.Timeout | undefined;
  const changed = (): void => {
    clearTimeout(settle);
    settle = setTimeout(reload, options.settleMs ?? 200);
    settle.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set([dirname(cert), dirname(key)])) {
    try {
      const watcher = watch(dir, { persistent: false }, changed);
      watcher.on('error', (err) => logger.warn({ dir, reason: err.message }, 'cannot watch TLS directory; relying on polling'));
      watchers.push(watcher);
    } catch (err) {
      logger.warn({ dir, reason: (err as Error).message }, 'cannot watch TLS directory; relying on polling');
    }
  }
  const poll = setInterval(reload, options.pollMs ?? 60_000);
  poll.unref();
  return {
    stop() {
      clearTimeout(settle);
      clearInterval(poll);
      for (const watcher of watchers) watcher.close();
    },
  };
}
