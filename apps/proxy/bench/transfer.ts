/** One timed download with curl, and what it cost the serving process in CPU time. */
import { cpuSeconds, treeCpuSeconds } from './cpu.js';
import { curlGet, type Download } from './measure.js';

export interface Transfer extends Download {
  /** CPU seconds the server spent on it (undefined when the server is this process). */
  cpu?: number;
}

export interface Server {
  /** Whose CPU time is counted; a tree for multi-process servers (nginx). */
  pid?: number;
  tree?: boolean;
}

export async function timedGet(server: Server, url: string, headers: Record<string, string> = {}): Promise<Transfer> {
  const cpu = (): number | undefined =>
    server.pid === undefined ? undefined : server.tree ? treeCpuSeconds(server.pid) : cpuSeconds(server.pid);
  const before = cpu();
  const download = await curlGet(url, headers);
  const after = cpu();
  if (download.status !== 200) throw new Error(`GET ${url}: ${download.status}`);
  return { ...download, cpu: before === undefined || after === undefined ? undefined : after - before };
}

const GB = 1e9;

/** CPU seconds per GB transferred. */
export const cpuPerGb = (t: Transfer): number => ((t.cpu ?? Number.NaN) / t.bytes) * GB;
/** MiB/s. */
export const throughput = (t: Transfer): number => t.bytes / (1024 * 1024) / t.seconds;
