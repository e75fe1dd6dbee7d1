/**
 * An isolated Docker engine for tests: Debian's `dockerd` (needs root) with its own data
 * root, exec root, socket and daemon.json under a temp dir, no iptables and no bridge
 * (containers run with `--network host`). The `docker` first on PATH may be another
 * client, so the CLI is always /usr/bin/docker pointed at this socket.
 *
 * `stop()` leaves nothing behind even when the engine misbehaves: it stops the engine
 * (which stops its containers), kills what is left of the process group it started,
 * unmounts whatever is still mounted under the temp dir, and removes it. jest runs
 * afterAll (hence `stop()`) even when beforeAll or a test failed or timed out.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdirSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './tmp.js';

const run = promisify(execFile);
export const DOCKERD = '/usr/sbin/dockerd';
export const DOCKER = '/usr/bin/docker';

export interface DaemonJson {
  'registry-mirrors'?: string[];
  [key: string]: unknown;
}

export interface Dockerd {
  dir: string;
  socket: string;
  /** Runs `docker <args>` against this engine; resolves stdout, rejects with stderr. */
  docker(args: string[], options?: { input?: Buffer | string; timeoutMs?: number }): Promise<string>;
  /** Starts `docker <args>` and returns the child (for `docker stop` racing a download, piping a tar). */
  spawnDocker(args: string[]): ChildProcess;
  stop(): Promise<void>;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the process group the engine leads (detached), i.e. dockerd and its containerd.
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

export async function startDockerd(options: { daemonJson?: DaemonJson; name?: string } = {}): Promise<Dockerd> {
  const dir = tempDir(options.name ?? 'dockerd');
  const socket = join(dir.path, 'sock');
  const configFile = join(dir.path, 'daemon.json');
  // The engine's config file replaces /etc/docker/daemon.json, which stays untouched.
  writeFileSync(configFile, JSON.stringify(options.daemonJson ?? {}));
  const clientConfig = join(dir.path, 'client');
  mkdirSync(clientConfig);
  const log: string[] = [];
  const child = spawn(
    DOCKERD,
    [
      '--iptables=false',
      '--bridge=none',
      '--data-root',
      join(dir.path, 'data'),
      '--exec-root',
      join(dir.path, 'exec'),
      '--pidfile',
      join(dir.path, 'pid'),
      '-H',
      `unix://${socket}`,
      '--config-file',
      configFile,
      '--log-level',
      'warn',
    ],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (d: Buffer): void => {
    log.push(d.toString());
    if (log.length > 200) log.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const env = { ...process.env, DOCKER_CONFIG: clientConfig, DOCKER_HOST: `unix://${socket}` };
  const engine: Dockerd = {
    dir: dir.path,
    socket,
    async docker(args, opts = {}) {
      const pending = run(DOCKER, ['-H', `unix://${socket}`, ...args], {
        env,
        maxBuffer: 64 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 120_000,
      });
      if (opts.input !== undefined) pending.child.stdin?.end(opts.input);
      try {
        return (await pending).stdout;
      } catch (err) {
        const e = err as { stderr?: string; stdout?: string; message: string };
        throw new Error(`docker ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${(e.stdout ?? '').slice(-4000)}`);
      }
    },
    spawnDocker(args) {
      return spawn(DOCKER, ['-H', `unix://${socket}`, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        // dockerd stops its containers on SIGTERM (their own stop timeouts, at most 15 s by default).
        killGroup(child, 'SIGTERM');
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 40_000);
        await exited;
        clearTimeout(timer);
      }
      // Anything of the group that outlived dockerd (containerd after a SIGKILL).
      killGroup(child, 'SIGKILL');
      killStrays(dir.path);
      await unmountUnder(dir.path);
      dir.remove();
    },
  };

  for (let i = 0; ; i++) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await engine.stop();
      throw new Error(`dockerd exited at start-up:\n${log.join('')}`);
    }
    if (await pings(socket)) break;
    if (i > 600) {
      await engine.stop();
      throw new Error(`dockerd did not answer within 60 s:\n${log.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return engine;
}

function pings(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

/**
 * Container shims start their own sessions, so a SIGKILLed engine can leave them behind.
 * They name the engine's exec root on their command line: kill exactly those, by pid.
 */
function killStrays(dir: string): void {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const exe = readlinkSync(`/proc/${pid}/exe`);
      if (cmdline.includes(dir) && /containerd|runc|dockerd|docker-proxy/.test(exe)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
}

/** Mount points under `dir` (overlay layers, shm, netns), deepest first. */
export function mountsUnder(dir: string): string[] {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)));
  return mounts.sort((a, b) => b.length - a.length);
}

async function unmountUnder(dir: string): Promise<void> {
  for (const point of mountsUnder(dir)) {
    try {
      await run('umount', ['-l', point]);
    } catch {
      // already gone with its parent
    }
  }
}
