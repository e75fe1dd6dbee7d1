/**
 * V8 tuning for a process that streams gigabytes through short-lived Buffers.
 *
 * Every socket read (64 KiB) and file read makes a Buffer whose memory lives outside
 * the JS heap; its growth starts a mark-compact every few tens of MiB moved, about six
 * per 200 MiB blob. V8 runs those incrementally (marking in steps between tasks and on
 * helper threads) to keep pauses short on big heaps. The mirror's heap is a few tens of
 * MiB, so the steps and their bookkeeping cost far more CPU than the pauses they avoid:
 * with incremental marking off, the cold path took 0.71 CPU-s per 200 MiB instead of
 * 1.11 and the warm path 0.12 instead of 0.45, for a longest pause of 20 ms instead of
 * 18 (issue 10's profile; `pnpm bench` prints the current figures).
 *
 * An operator who passes any incremental-marking flag to node keeps their choice.
 */
import { setFlagsFromString } from 'node:v8';

const FLAG = 'incremental-marking';

export function tuneGarbageCollector(execArgv: string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  if (execArgv.some((arg) => arg.includes(FLAG)) || nodeOptions.includes(FLAG)) return false;
  setFlagsFromString(`--no-${FLAG}`);
  return true;
}
