/**
 * `pnpm bench`: Docxy measured beside its peers in one run on this machine — the real
 * registry stand-in (direct), two floors (a bare pipe, and pipe + sha256 + spool),
 * distribution as a pull-through cache, and nginx sendfile. Every figure is printed as
 * median (min–max) over its runs, with CPU seconds per GB where cost matters, next to
 * the peer figure from the same run. Figures are measurements, not assertions: tests
 * assert behaviour.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Blob, MT, sha256, singleImage } from '../test/testbed/images.js';
import { type MirrorProcess, spawnMirror } from '../test/testbed/mirror-process.js';
import { pushBlobs } from '../test/testbed/push.js';
import { SERVICE, startTestbed, type Testbed } from '../test/testbed/testbed.js';
import { tempDir } from '../test/testbed/tmp.js';
import { measureCold } from './cold.js';
import { curlFanOut, curlGet, peakRss, wrkRate } from './measure.js';
import { startDistributionProxy, startNginx } from './peers.js';
import { formatSpread, spreadOf } from './spread.js';
import { cpuPerGb, throughput, type Transfer } from './transfer.js';
import { measureWarm } from './warm.js';

const BLOB_MB = Number(process.env.BENCH_BLOB_MB ?? 200);
/** Distinct blobs each server moves before anything is measured (JIT, page faults, pools). */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
/** Distinct blobs measured cold (each is new to the mirror measuring it). */
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 5);
/** Fresh processes whose first transfer is measured. */
const FRESH_RUNS = Number(process.env.BENCH_FRESH_RUNS ?? 3);
const WARM_PASSES = Number(process.env.BENCH_WARM_PASSES ?? 2);
const PULLERS = Number(process.env.BENCH_PULLERS ?? 50);
/** Upstream link speed for the paced cold-pull figure. */
const WAN_MB = Number(process.env.BENCH_WAN_MB ?? 100);
/** Upstream link speed for the fan-out figures. */
const FANOUT_WAN_MB = Number(process.env.BENCH_FANOUT_WAN_MB ?? 25);
const ACCEPT = [MT.dockerList, MT.dockerManifest, MT.ociIndex, MT.ociManifest].join(', ');
const REPO = 'library/bench';
const MiB = 1024 * 1024;

interface Row {
  figure: string;
  docxy: string;
  peer: string;
  ratio: string;
  target: string;
}
const rows: Row[] = [];

const median = (transfers: Transfer[], of: (t: Transfer) => number): number => spreadOf(transfers.map(of)).median;
const rate = (transfers: Transfer[]): string => formatSpread(spreadOf(transfers.map(throughput)), 'MiB/s');
const cpu = (transfers: Transfer[]): string => formatSpread(spreadOf(transfers.map(cpuPerGb)), 'CPU-s/GB', 2);
const ratio = (a: number, b: number): string => (a / b).toFixed(2);

async function token(realm: string, service: string): Promise<string> {
  const res = await fetch(`${realm}?service=${encodeURIComponent(service)}&scope=repository:${REPO}:pull`);
  return ((await res.json()) as { token: string }).token;
}
const bearer = async (realm: string, service: string): Promise<Record<string, string>> => ({
  authorization: `Bearer ${await token(realm, service)}`,
});

function randomBlob(): Blob {
  const data = randomBytes(BLOB_MB * MiB);
  return { digest: sha256(data), data };
}

/** A fresh directory in /dev/shm (tmpfs), or undefined where there is none. */
function memoryDir(): string | undefined {
  try {
    return mkdtempSync('/dev/shm/docxy-bench-');
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const work = tempDir('bench');
  const bed: Testbed = await startTestbed();
  const stops: Array<() => Promise<void>> = [() => bed.stop(), async () => work.remove()];
  const onStop = (stop: () => Promise<void>): void => void stops.push(stop);
  try {
    process.stdout.write(`seeding ${WARMUP + COLD_RUNS} distinct ${BLOB_MB} MiB blobs...\n`);
    const warmup = Array.from({ length: WARMUP }, randomBlob);
    const measured = Array.from({ length: COLD_RUNS }, randomBlob);
    await pushBlobs(bed.registry.url, { realm: bed.token.realm, service: SERVICE }, REPO, [...warmup, ...measured]);
    const image = singleImage('bench');
    await bed.push(REPO, image, ['latest']);
    const blobPath = (b: Blob): string => `/v2/${REPO}/blobs/${b.digest}`;
    const size = BLOB_MB * MiB;

    const docxy = async (name: string, under = work.path): Promise<{ process: MirrorProcess; auth: Record<string, string> }> => {
      const mirror = await spawnMirror(bed, join(under, name));
      onStop(() => mirror.kill('SIGTERM'));
      return { process: mirror, auth: await bearer(`${mirror.url}/auth/token`, 'docxy') };
    };
    const upstreamAuth = await bearer(bed.token.realm, SERVICE);

    // 1. Cold: distinct blobs through a warmed-up mirror, beside direct and the two floors.
    process.stdout.write('cold path...\n');
    const cold = await measureCold(
      { work: work.path, upstreamUrl: bed.upstreamUrl, cdnUrl: bed.cdn.url, repo: REPO, upstreamAuth, mirror: docxy, onStop },
      warmup,
      measured,
      FRESH_RUNS,
    );
    const coldRatio = median(cold.docxy, throughput) / median(cold.direct, throughput);
    rows.push({
      figure: `cold blob (${BLOB_MB} MiB) throughput, warmed-up mirror, ${COLD_RUNS} distinct blobs`,
      docxy: rate(cold.docxy),
      peer: `direct ${rate(cold.direct)}; pipe floor ${rate(cold.pipe)}; pipe+sha256+spool floor ${rate(cold.spool)}; dd to the same disk ${rate(cold.disk)}`,
      ratio: coldRatio.toFixed(2),
      target: '≥ 0.5 × direct',
    });
    rows.push({
      figure: 'cold blob CPU per GB (mirror process, all threads)',
      docxy: cpu(cold.docxy),
      peer: `pipe floor ${cpu(cold.pipe)}; pipe+sha256+spool floor ${cpu(cold.spool)}`,
      ratio: ratio(median(cold.docxy, cpuPerGb), median(cold.spool, cpuPerGb)),
      target: '≤ 1.2 × pipe+sha256+spool',
    });
    rows.push({
      figure: `first transfer of a fresh mirror process (${FRESH_RUNS} processes)`,
      docxy: `${rate(cold.firstTransfer)}; ${cpu(cold.firstTransfer)}`,
      peer: `warmed-up mirror ${cpu(cold.docxy)}`,
      ratio: ratio(median(cold.firstTransfer, cpuPerGb), median(cold.docxy, cpuPerGb)),
      target: 'reported',
    });

    // 1a. The same with the data directory and the floors' spools in memory (tmpfs): this
    // VM's disk takes new writes at a few hundred MiB/s, which caps every cold row above;
    // here the disk is out of the way and the cold path's own cost sets the pace.
    const shm = memoryDir();
    if (shm) {
      stops.splice(1, 0, async () => rmSync(shm, { recursive: true, force: true })); // after the mirrors stop
      process.stdout.write('cold path, data directory on tmpfs...\n');
      const inMemory = await measureCold(
        {
          work: shm,
          upstreamUrl: bed.upstreamUrl,
          cdnUrl: bed.cdn.url,
          repo: REPO,
          upstreamAuth,
          mirror: (name) => docxy(name, shm),
          onStop,
        },
        warmup,
        measured,
        0,
      );
      await inMemory.steady.process.kill('SIGTERM');
      rows.push({
        figure: 'cold blob throughput, data directory and spools on tmpfs',
        docxy: `${rate(inMemory.docxy)}; ${cpu(inMemory.docxy)}`,
        peer: `direct ${rate(inMemory.direct)}; pipe+sha256+spool floor ${rate(inMemory.spool)}, ${cpu(inMemory.spool)}`,
        ratio: ratio(median(inMemory.docxy, throughput), median(inMemory.direct, throughput)),
        target: '≥ 0.5 × direct',
      });
    }

    // 1b. Cold over a paced upstream (a fast WAN link rather than loopback).
    bed.cdn.fault = () => ({ bytesPerSecond: WAN_MB * MiB });
    try {
      const direct: Transfer[] = [];
      const through: Transfer[] = [];
      for (let i = 0; i < FRESH_RUNS; i++) {
        direct.push(await curlGet(`${bed.upstreamUrl}${blobPath(measured[i % measured.length]!)}`, upstreamAuth));
        const mirror = await docxy(`docxy-wan-${i}`);
        through.push(await curlGet(`${mirror.process.url}${blobPath(measured[i % measured.length]!)}`, mirror.auth));
      }
      rows.push({
        figure: `cold blob throughput, upstream paced to ${WAN_MB} MiB/s`,
        docxy: rate(through),
        peer: `direct ${rate(direct)}`,
        ratio: ratio(median(through, throughput), median(direct, throughput)),
        target: '≥ 0.9',
      });
    } finally {
      bed.cdn.fault = undefined;
    }

    // 2. Warm: the cold run's mirror serving what it cached, beside distribution (verified
    // warm) and nginx sendfile.
    process.stdout.write('warm path...\n');
    const files = join(work.path, 'files');
    mkdirSync(files, { recursive: true });
    for (const b of measured) writeFileSync(join(files, b.digest.slice(7)), b.data);
    const nginx = await startNginx(
      join(work.path, 'nginx'),
      measured.map((b) => join(files, b.digest.slice(7))),
    );
    onStop(() => nginx.stop());
    const dist = await startDistributionProxy(join(work.path, 'distribution-1'), bed.upstreamUrl);
    onStop(() => dist.stop());
    const steady = cold.steady;
    const warm = await measureWarm(
      measured,
      {
        docxy: { pid: steady.process.pid, url: (b) => `${steady.process.url}${blobPath(b)}`, headers: steady.auth },
        distribution: { pid: dist.pid, url: (b) => `${dist.url}${blobPath(b)}` },
        nginx: { pid: nginx.pid, tree: true, url: (b) => `${nginx.url}/${b.digest.slice(7)}` },
      },
      () => bed.cdn.bytesSent(),
      WARM_PASSES,
    );
    const verified =
      warm.distributionUpstreamBytes === 0
        ? `verified warm after ${warm.distributionWarmPasses} passes`
        : `NOT warm: fetched ${(warm.distributionUpstreamBytes / MiB).toFixed(0)} MiB upstream during the runs`;
    rows.push({
      figure: `warm blob throughput (${warm.docxy.length} runs)`,
      docxy: rate(warm.docxy),
      peer: `distribution ${rate(warm.distribution)} (${verified}); nginx sendfile ${rate(warm.nginx)}`,
      ratio: `${ratio(median(warm.docxy, throughput), median(warm.distribution, throughput))} × distribution; ${ratio(
        median(warm.docxy, throughput),
        median(warm.nginx, throughput),
      )} × nginx`,
      target: '≥ 1.0 × distribution; ≥ 0.8 × nginx',
    });
    rows.push({
      figure: 'warm blob CPU per GB (server processes)',
      docxy: cpu(warm.docxy),
      peer: `distribution ${cpu(warm.distribution)}; nginx ${cpu(warm.nginx)}`,
      ratio: ratio(median(warm.docxy, cpuPerGb), median(warm.distribution, cpuPerGb)),
      target: 'reported',
    });

    // 3–5. PULLERS concurrent cold pulls of one blob: upstream bytes, wall time, peak RSS.
    // The upstream is paced (a WAN link): on loopback the two cores would measure local
    // delivery of PULLERS × the blob, not what coalescing saves.
    process.stdout.write('fan-out...\n');
    const fanBlob = measured[0]!;
    bed.cdn.fault = () => ({ bytesPerSecond: FANOUT_WAN_MB * MiB });
    try {
      const ref = await docxy('docxy-fanout-ref');
      const single = await curlGet(`${ref.process.url}${blobPath(fanBlob)}`, ref.auth);
      const d2 = await docxy('docxy-fanout');
      let sentBefore = bed.cdn.bytesSent();
      const fan = await curlFanOut(`${d2.process.url}${blobPath(fanBlob)}`, d2.auth, PULLERS);
      const docxyUpstream = bed.cdn.bytesSent() - sentBefore;
      const rss = peakRss(d2.process.pid);
      const complete = fan.downloads.filter((d) => d.status === 200 && d.bytes === size).length;
      const dist2 = await startDistributionProxy(join(work.path, 'distribution-2'), bed.upstreamUrl);
      onStop(() => dist2.stop());
      sentBefore = bed.cdn.bytesSent();
      const distFan = await curlFanOut(`${dist2.url}${blobPath(fanBlob)}`, {}, PULLERS);
      const distUpstream = bed.cdn.bytesSent() - sentBefore;
      const distComplete = distFan.downloads.filter((d) => d.status === 200 && d.bytes === size).length;
      rows.push({
        figure: `${PULLERS} concurrent cold pulls (upstream ${FANOUT_WAN_MB} MiB/s): bytes fetched upstream`,
        docxy: `${(docxyUpstream / size).toFixed(2)} × blob (${complete}/${PULLERS} complete)`,
        peer: `distribution ${(distUpstream / size).toFixed(2)} × blob (${distComplete}/${PULLERS} complete)`,
        ratio: '',
        target: '= 1 × blob',
      });
      rows.push({
        figure: `${PULLERS} concurrent cold pulls: wall time / one cold pull`,
        docxy: `${fan.seconds.toFixed(2)} s / ${single.seconds.toFixed(2)} s`,
        peer: `distribution ${distFan.seconds.toFixed(2)} s`,
        ratio: ratio(fan.seconds, single.seconds),
        target: '≤ 1.5',
      });
      rows.push({
        figure: 'peak RSS of the Docxy process during the fan-out',
        docxy: `${(rss / MiB).toFixed(0)} MiB`,
        peer: `warmed-up mirror after the cold and warm runs: ${(peakRss(steady.process.pid) / MiB).toFixed(0)} MiB`,
        ratio: '',
        target: '≤ 200 MiB',
      });
    } finally {
      bed.cdn.fault = undefined;
    }

    // 6. Cached manifest by digest, wrk with 50 connections.
    const manifestPath = `/v2/${REPO}/manifests/${image.top.digest}`;
    const steadyHeaders = { ...steady.auth, accept: ACCEPT };
    await curlGet(`${steady.process.url}${manifestPath}`, steadyHeaders);
    await curlGet(`${dist.url}${manifestPath}`, { accept: ACCEPT });
    const docxyRate = await wrkRate(`${steady.process.url}${manifestPath}`, steadyHeaders);
    const distRate = await wrkRate(`${dist.url}${manifestPath}`, { accept: ACCEPT });
    rows.push({
      figure: 'cached manifest-by-digest requests/s (wrk, 50 connections)',
      docxy: `${docxyRate.rps.toFixed(0)} (${docxyRate.non2xx} non-2xx)`,
      peer: `distribution ${distRate.rps.toFixed(0)} (${distRate.non2xx} non-2xx)`,
      ratio: ratio(docxyRate.rps, distRate.rps),
      target: '≥ 2',
    });

    // 7. 20 pulls of an unchanged tag: manifest GETs that reach the upstream.
    const gets = (): number => bed.front.manifestGets().length;
    let before = gets();
    for (let i = 0; i < 20; i++) await curlGet(`${steady.process.url}/v2/${REPO}/manifests/latest`, steadyHeaders);
    const docxyGets = gets() - before;
    before = gets();
    for (let i = 0; i < 20; i++) await curlGet(`${dist.url}/v2/${REPO}/manifests/latest`, { accept: ACCEPT });
    const distGets = gets() - before;
    rows.push({
      figure: 'upstream manifest GETs for 20 pulls of an unchanged tag',
      docxy: String(docxyGets),
      peer: `distribution ${distGets}`,
      ratio: '',
      target: '≤ 1 (distinct manifests)',
    });

    process.stdout.write(
      `\nDocxy benchmark — ${BLOB_MB} MiB blobs (${WARMUP} warm-up, ${COLD_RUNS} measured), ${PULLERS} pullers, ` +
        `median (min–max), node ${process.version}, loopback\n\n`,
    );
    process.stdout.write('| figure | Docxy | peer (same run) | ratio | target |\n|---|---|---|---|---|\n');
    for (const row of rows) process.stdout.write(`| ${row.figure} | ${row.docxy} | ${row.peer} | ${row.ratio} | ${row.target} |\n`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
