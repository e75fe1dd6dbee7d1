/**
 * A local stand-in for `node:20-bookworm-slim` (Docker Hub is out of reach here): a root
 * filesystem made of this machine's own Node 20, npm, dash as /bin/sh, the few coreutils a
 * Dockerfile's RUN steps use, the shared libraries they load (from `ldd`), the CA bundle,
 * and a `node` user with uid/gid 1000, imported with `docker import`. Paths follow Debian's
 * (merged /usr), so the Dockerfile's steps run unchanged on it and on the official image.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, realpathSync, symlinkSync, writeFileSync, chmodSync, chownSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Dockerd } from './dockerd.js';
import { tempDir } from './tmp.js';

export const BASE_IMAGE = 'docxy-test/node:20-local';

/** Commands a RUN step may use (the official slim image has these and more). */
// pnpm's .bin shims use readlink, sed and uname.
const TOOLS = [
  'dash',
  'mkdir',
  'chown',
  'chmod',
  'rm',
  'cp',
  'mv',
  'ln',
  'ls',
  'cat',
  'env',
  'id',
  'true',
  'sleep',
  'readlink',
  'sed',
  'uname',
  'dirname',
  'basename',
  'grep',
  'tr',
];
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

function which(command: string): string {
  return execFileSync('which', [command]).toString().trim();
}

/**
 * The C/C++ runtime the slim image has as a whole (glibc, libgcc, libstdc++): native
 * executables fetched during a build (pnpm ships one) load more of glibc than node does.
 */
const RUNTIME_PACKAGES = ['libc6', 'libgcc-s1', 'libstdc++6'];

function runtimeLibraries(): string[] {
  return execFileSync('dpkg', ['-L', ...RUNTIME_PACKAGES])
    .toString()
    .split('\n')
    .filter((path) => /^\/(usr\/)?lib(64)?\/[^ ]*\.so[.\d]*$/.test(path) && !path.includes('/gconv/'));
}

/** Shared libraries a binary loads, as absolute paths (the dynamic loader included). */
function librariesOf(binary: string): string[] {
  const out = execFileSync('ldd', [binary]).toString();
  return [...out.matchAll(/(\/\S+\.so[^\s]*)/g)].map((m) => m[1]!);
}

function copyInto(root: string, hostPath: string): void {
  // Copy the file to its resolved path and recreate the name it was found under.
  const real = realpathSync(hostPath);
  const target = join(root, real);
  mkdirSync(dirname(target), { recursive: true });
  if (!existsSync(target)) copyFileSync(real, target);
  const named = join(root, hostPath);
  if (hostPath !== real && !existsSync(named)) {
    mkdirSync(dirname(named), { recursive: true });
    symlinkSync(real, named);
  }
}

/** Writes the root filesystem into `root` (under /usr, with bookworm's merged-/usr links). */
export function writeRootfs(root: string): void {
  for (const dir of ['usr/bin', 'usr/lib', 'usr/lib64', 'etc/ssl/certs', 'tmp', 'root', 'home/node', 'var/tmp', 'proc', 'sys', 'dev']) {
    mkdirSync(join(root, dir), { recursive: true });
  }
  for (const link of ['bin', 'lib', 'lib64', 'sbin']) {
    if (link === 'sbin') mkdirSync(join(root, 'usr/sbin'), { recursive: true });
    symlinkSync(`usr/${link}`, join(root, link));
  }
  const node = realpathSync(which('node'));
  const binaries = [node, ...TOOLS.map(which)];
  for (const binary of binaries) {
    const real = realpathSync(binary);
    const target = join(root, 'usr/bin', real.split('/').pop()!);
    if (!existsSync(target)) copyFileSync(real, target);
    for (const lib of librariesOf(real)) copyInto(root, lib);
  }
  for (const lib of runtimeLibraries()) copyInto(root, lib);
  symlinkSync('dash', join(root, 'usr/bin/sh'));
  // npm as Debian-style global packages: prefix /usr, so `npm install -g` lands on PATH.
  const npmHome = realpathSync(join(dirname(node), '..', 'lib', 'node_modules', 'npm'));
  cpSync(npmHome, join(root, 'usr/lib/node_modules/npm'), { recursive: true, verbatimSymlinks: true });
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/bin/npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(root, 'usr/bin/npx'));
  copyFileSync(CA_BUNDLE, join(root, CA_BUNDLE));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnode:x:1000:\n');
  writeFileSync(join(root, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  chmodSync(join(root, 'tmp'), 0o1777);
  chmodSync(join(root, 'var/tmp'), 0o1777);
  chownSync(join(root, 'home/node'), 1000, 1000);
}

/**
 * Imports the base image into `engine` as {@link BASE_IMAGE}. Node trusts the machine's
 * CA bundle as well as its own (the registry may sit behind a proxy with a private CA).
 */
export async function importBaseImage(engine: Dockerd): Promise<string> {
  const root = tempDir('rootfs');
  try {
    writeRootfs(root.path);
    const tar = execFileSync('tar', ['-C', root.path, '--numeric-owner', '-c', '.'], { maxBuffer: 1024 * 1024 * 1024 });
    await engine.docker(
      [
        'import',
        '--change',
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--change',
        `ENV NODE_EXTRA_CA_CERTS=${CA_BUNDLE}`,
        '--change',
        'CMD ["node"]',
        '-',
        BASE_IMAGE,
      ],
      { input: tar },
    );
    return BASE_IMAGE;
  } finally {
    root.remove();
  }
}
