/**
 * Real registry clients pointed at the mirror: skopeo, podman (registries.conf
 * mirror) and containerd's ctr (hosts.toml, which adds `?ns=`). Each runs with its own
 * temporary state so tests never touch the machine's configuration.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';

const run = promisify(execFile);
const MAX_BUFFER = 16 * 1024 * 1024;

export async function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { env: { ...process.env, ...env }, maxBuffer: MAX_BUFFER });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`);
  }
}

const sha256File = (path: string): string => `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;

/** `skopeo copy --all` into a `dir:` layout (kept verbatim); returns the top manifest's digest. */
export async function skopeoCopy(source: string, dest: string, creds?: string): Promise<string> {
  const args = ['copy', '--all', '--src-tls-verify=false', '--retry-times', '0'];
  if (creds) args.push('--src-creds', creds);
  else args.push('--src-no-creds');
  await exec('skopeo', [...args, `docker://${source}`, `dir:${dest}`]);
  return sha256File(join(dest, 'manifest.json'));
}

/** podman with a `registries.conf` that mirrors docker.io to the mirror; returns the pulled digest. */
export async function podmanPull(dir: string, mirrorHostPort: string, image: string): Promise<string> {
  const conf = join(dir, 'registries.conf');
  writeFileSync(
    conf,
    [
      'unqualified-search-registries = ["docker.io"]',
      '[[registry]]',
      'prefix = "docker.io"',
      'location = "docker.io"',
      '[[registry.mirror]]',
      `location = "${mirrorHostPort}"`,
      'insecure = true',
      '',
    ].join('\n'),
  );
  const env = { CONTAINERS_REGISTRIES_CONF: conf };
  const base = [
    '--root',
    join(dir, 'root'),
    '--runroot',
    join(dir, 'runroot'),
    '--storage-driver',
    'vfs',
    '--events-backend',
    'file',
    '--cgroup-manager',
    'cgroupfs',
    '--tmpdir',
    join(dir, 'tmp'),
  ];
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  await exec('podman', [...base, 'pull', '--quiet', image], env);
  return (await exec('podman', [...base, 'image', 'inspect', '--format', '{{.Digest}}', image], env)).trim();
}

export interface Containerd {
  address: string;
  hostsDir: string;
  ctr(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** A private containerd (own root, state and socket) for `ctr content fetch`, mirroring `registries` through the mirror. */
export async function startContainerd(
  dir: string,
  mirrorHostPort: string,
  registries: Record<string, string> = { 'docker.io': 'https://registry-1.docker.io' },
): Promise<Containerd> {
  const address = join(dir, 'containerd.sock');
  const hostsDir = join(dir, 'certs.d');
  for (const [registry, server] of Object.entries(registries)) {
    mkdirSync(join(hostsDir, registry), { recursive: true });
    writeFileSync(
      join(hostsDir, registry, 'hosts.toml'),
      [`server = "${server}"`, '', `[host."http://${mirrorHostPort}"]`, '  capabilities = ["pull", "resolve"]', ''].join('\n'),
    );
  }
  const config = join(dir, 'containerd.toml');
  writeFileSync(
    config,
    [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]',
      '[grpc]',
      `  address = "${address}"`,
      '[ttrpc]',
      `  address = "${address}.ttrpc"`,
      '[debug]',
      `  address = "${address}.debug"`,
      '[metrics]',
      '  address = ""',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('containerd', ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  for (let i = 0; i < 200 && !existsSync(address); i++) {
    if (child.exitCode !== null) throw new Error(`containerd exited: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!existsSync(address)) throw new Error(`containerd did not start: ${log}`);
  return {
    address,
    hostsDir,
    ctr: (args) => exec('ctr', ['--address', address, '--namespace', 'docxy-test', ...args]),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
