/** Measurements with external clients (curl, wrk), so the bench process is not the bottleneck. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Download {
  seconds: number;
  bytes: number;
  status: number;
}

/** One GET with curl, following redirects; the body is discarded. */
export async function curlGet(url: string, headers: Record<string, string> = {}): Promise<Download> {
  const args = ['-sS', '-L', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total}'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  const { stdout } = await run('curl', [...args, url], { maxBuffer: 1 << 20 });
  const [status, bytes, seconds] = stdout.trim().split(' ').map(Number) as [number, number, number];
  return { status, bytes, seconds };
}

/** `count` curls started together; wall time until the last finishes. */
export async function curlFanOut(
  url: string,
  headers: Record<string, string>,
  count: number,
): Promise<{ seconds: number; downloads: Download[] }> {
  const started = process.hrtime.bigint();
  const downloads = await Promise.all(Array.from({ length: count }, () => curlGet(url, headers)));
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, downloads };
}

/** Requests per second from wrk (2 threads, `connections` connections, `seconds` long). */
export async function wrkRate(
  url: string,
  headers: Record<string, string>,
  connections = 50,
  seconds = 5,
): Promise<{ rps: number; non2xx: number }> {
  const args = ['-t2', `-c${connections}`, `-d${seconds}s`];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  const { stdout } = await run('wrk', [...args, url], { maxBuffer: 1 << 20 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  return { rps, non2xx };
}

/** Peak resident set size of a process so far (VmHWM), in bytes. */
export function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}
