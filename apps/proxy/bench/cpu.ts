/**
 * CPU time of a process, from /proc: what a transfer costs the machine, which wall time
 * on a shared 2-core box does not show. Covers every thread of the process (V8's GC and
 * libuv's pool included), so a peer's figure and Docxy's are comparable.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Linux reports CPU time in clock ticks; 100 per second on every platform Node runs on here. */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds the process has used so far (all its threads). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields from after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds of a process and its live children (nginx's master and workers). */
export function treeCpuSeconds(pid: number): number {
  let total = cpuSeconds(pid);
  for (const child of childrenOf(pid)) total += cpuSeconds(child);
  return total;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const list = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (list) out.push(...list.split(' ').map(Number));
  }
  return out;
}
