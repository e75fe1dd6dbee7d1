/**
 * The cold path measured apart from a process's warm-up: every server first moves
 * WARMUP blobs nobody measures, then each measured blob goes through each server once,
 * interleaved (direct, bare pipe, pipe+sha256+spool, Docxy, in rotating order) so
 * drift on a shared machine hits them alike. Docxy sees every measured blob for the
 * first time: each is a real cold fill (upstream GET, hash, spool, commit). The first
 * transfer of a fresh mirror process is its own row.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Blob } from '../test/testbed/images.js';
import type { MirrorProcess } from '../test/testbed/mirror-process.js';
import { type Transfer, timedGet } from './transfer.js';

const run = promisify(execFile);

export interface ColdEnv {
  work: string;
  /** The upstream registry (answers blob GETs with a 307 to the CDN). */
  upstreamUrl: string;
  /** The CDN origin the registry redirects to. */
  cdnUrl: string;
  repo: string;
  upstreamAuth: Record<string, string>;
  mirror(name: string): Promise<{ process: MirrorProcess; auth: Record<string, string> }>;
  onStop(stop: () => Promise<void>): void;
}

export interface ColdResults {
  /** The warmed-up mirror, left running with every measured blob cached (the warm runs use it). */
  steady: { process: MirrorProcess; auth: Record<string, string> };
  direct: Transfer[];
  pipe: Transfer[];
  spool: Transfer[];
  /** `dd` writing as many bytes to a new file beside the spools: the disk's own pace. */
  disk: Transfer[];
  docxy: Transfer[];
  firstTransfer: Transfer[];
}

/** Where distribution's filesystem driver keeps a blob (the CDN serves that tree). */
export function storagePath(digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return `/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
}

export async function measureCold(env: ColdEnv, warmup: Blob[], measured: Blob[], freshRuns: number): Promise<ColdResults> {
  const floor = await startFloor(env);
  const steady = await env.mirror('docxy-cold');
  const blobUrl = (base: string, b: Blob): string => `${base}/v2/${env.repo}/blobs/${b.digest}`;
  const results: ColdResults = { steady, direct: [], pipe: [], spool: [], disk: [], docxy: [], firstTransfer: [] };
  type Key = 'direct' | 'pipe' | 'spool' | 'disk' | 'docxy';
  const servers: Array<{ key: Key; get: (b: Blob) => Promise<Transfer> }> = [
    { key: 'direct', get: (b) => timedGet({}, blobUrl(env.upstreamUrl, b), env.upstreamAuth) },
    { key: 'pipe', get: (b) => timedGet({ pid: floor.pid }, `${floor.url}/pipe${storagePath(b.digest)}`) },
    { key: 'spool', get: (b) => timedGet({ pid: floor.pid }, `${floor.url}/spool${storagePath(b.digest)}`) },
    { key: 'disk', get: (b) => ddWrite(join(env.work, 'floor-spool', `dd-${b.digest.slice(7)}`), b.data.length) },
    { key: 'docxy', get: (b) => timedGet({ pid: steady.process.pid }, blobUrl(steady.process.url, b), steady.auth) },
  ];
  // Whoever goes first after another's transfer pays differently for the page cache the
  // other just filled (measured: up to 15% apart for two identical mirrors), so the
  // order rotates from one blob to the next.
  const each = async (b: Blob, turn: number): Promise<Array<[string, Transfer]>> => {
    const out: Array<[string, Transfer]> = [];
    for (let i = 0; i < servers.length; i++) {
      const server = servers[(turn + i) % servers.length]!;
      out.push([server.key, await server.get(b)]);
    }
    return out;
  };
  for (const [turn, b] of warmup.entries()) await each(b, turn);
  for (const [turn, b] of measured.entries()) {
    for (const [key, transfer] of await each(b, turn)) results[key as Key].push(transfer);
  }
  for (let i = 0; i < freshRuns; i++) {
    const fresh = await env.mirror(`docxy-fresh-${i}`);
    results.firstTransfer.push(await timedGet({ pid: fresh.process.pid }, blobUrl(fresh.process.url, measured[0]!), fresh.auth));
    await fresh.process.kill('SIGTERM');
  }
  return results;
}

/** `dd` from /dev/zero into a new file, 1 MiB blocks, no fsync (a spool is not synced either). */
async function ddWrite(path: string, bytes: number): Promise<Transfer> {
  const started = process.hrtime.bigint();
  await run('dd', ['if=/dev/zero', `of=${path}`, 'bs=1M', `count=${Math.ceil(bytes / (1024 * 1024))}`]);
  return { status: 200, bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** The floor server (floor-server.ts) as a child process. */
async function startFloor(env: ColdEnv): Promise<{ url: string; pid: number }> {
  const spool = join(env.work, 'floor-spool');
  mkdirSync(spool, { recursive: true });
  const script = fileURLToPath(new URL('./floor-server.js', import.meta.url));
  const child = spawn(process.execPath, [script, env.cdnUrl, spool], { stdio: ['ignore', 'pipe', 'inherit'] });
  env.onStop(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`floor server exited ${code}`)));
  });
  return { url, pid: child.pid! };
}
