/**
 * What a Docker host needs to use a mirror at a domain name over HTTPS, set up on this
 * machine for a test and undone afterwards: the name resolved to a loopback address
 * (a line appended to /etc/hosts, which dockerd's resolver reads) and the mirror's CA
 * trusted by dockerd (/etc/docker/certs.d/<host:port>/ca.crt; dockerd 20.10 has no option
 * to read certs.d elsewhere). Needs root, as CI runs. Only what was added is removed.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const HOSTS = '/etc/hosts';
const CERTS_D = '/etc/docker/certs.d';

export interface MirrorHost {
  /** Makes dockerd trust `caPem` for this host and port. */
  trust(caPem: string): void;
  /** Undoes everything; safe to call twice. */
  remove(): void;
}

/** Lines a test wrote carry this marker and its pid; a dead pid's lines are leftovers. */
const MARKER = /# docxy-test (\d+) \S+$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function useMirrorHost(options: { name: string; address: string; port: number }): MirrorHost {
  const marker = `# docxy-test ${process.pid} ${options.name}`;
  const line = `${options.address} ${options.name} ${marker}`;
  // A killed test run cannot clean up after itself: drop its lines now.
  const before = readFileSync(HOSTS, 'utf8')
    .split('\n')
    .filter((l) => {
      const pid = MARKER.exec(l)?.[1];
      return pid === undefined || alive(Number(pid));
    })
    .join('\n');
  writeFileSync(HOSTS, `${before}${before.endsWith('\n') || before === '' ? '' : '\n'}${line}\n`);

  const createdDirs = [CERTS_D, join(CERTS_D, '..')].filter((dir) => !existsSync(dir)).reverse();
  const certDir = join(CERTS_D, `${options.name}:${options.port}`);

  let removed = false;
  const host: MirrorHost = {
    trust(caPem) {
      mkdirSync(certDir, { recursive: true });
      writeFileSync(join(certDir, 'ca.crt'), caPem);
    },
    remove() {
      if (removed) return;
      removed = true;
      const now = readFileSync(HOSTS, 'utf8');
      writeFileSync(
        HOSTS,
        now
          .split('\n')
          .filter((l) => !l.endsWith(marker))
          .join('\n'),
      );
      rmSync(certDir, { recursive: true, force: true });
      // Directories this test created (deepest first), only if nothing else lives there now.
      for (const dir of [...createdDirs].reverse()) {
        if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
      }
    },
  };
  return host;
}
