/**
 * `pnpm bench`: Docxy measured beside its peers in one run on this machine — the real
 * registry stand-in (direct), distribution as a pull-through cache, and nginx sendfile.
 * Prints one table; every Docxy figure stands next to the peer figure from the same run.
 * Figures are measurements, not assertions: tests assert behaviour.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestbed, SERVICE, type Testbed } from '../test/testbed/testbed.js';
import { singleImage, MT } from '../test/testbed/images.js';
import { spawnMirror, type MirrorProcess } from '../test/testbed/mirror-process.js';
import { tempDir } from '../test/testbed/tmp.js';
import { startDistributionProxy, startNginx } from './peers.js';
import { curlFanOut, curlGet, peakRss, wrkRate, type Download } from './measure.js';

const BLOB_MB = Number(process.env.BENCH_BLOB_MB ?? 200);
const PULLERS = Number(process.env.BENCH_PULLERS ?? 50);
/** Upstream link speed for the paced cold-pull figure. */
const WAN_MB = Number(process.env.BENCH_WAN_MB ?? 100);
/** Upstream link speed for the fan-out figures. */
const FANOUT_WAN_MB = Number(process.env.BENCH_FANOUT_WAN_MB ?? 25);
const ACCEPT = [MT.dockerList, MT.dockerManifest, MT.ociIndex, MT.ociManifest].join(', ');
const MiB = 1024 * 1024;

interface Row {
  figure: string;
  docxy: string;
  peer: string;
  ratio: string;
  target: string;
}
const rows: Row[] = [];
const RUNS = 3;

/** The download with the median time of a list. */
function middle(downloads: Download[]): Download {
  return [...downloads].sort((a, b) => a.seconds - b.seconds)[Math.floor(downloads.length / 2)]!;
}

async function median(download: () => Promise<Download>): Promise<Download> {
  const out: Download[] = [];
  for (let i = 0; i < RUNS; i++) out.push(await download());
  return middle(out);
}
const mbps = (bytes: number, seconds: number): string => `${(bytes / MiB / seconds).toFixed(0)} MiB/s`;

async function token(realm: string, repo: string, service: string): Promise<string> {
  const res = await fetch(`${realm}?service=${encodeURIComponent(service)}&scope=repository:${repo}:pull`);
  return ((await res.json()) as { token: string }).token;
}

async function main(): Promise<void> {
  const work = tempDir('bench');
  const bed: Testbed = await startTestbed();
  const stops: Array<() => Promise<void>> = [() => bed.stop(), async () => work.remove()];
  try {
    process.stdout.write(`seeding a ${BLOB_MB} MiB layer...\n`);
    const image = singleImage('bench', { payload: randomBytes(BLOB_MB * MiB), gzipLevel: 1 });
    await bed.push('library/bench', image, ['latest']);
    const layer = image.blobs[1]!;
    const blobFile = join(work.path, 'blob');
    writeFileSync(blobFile, layer.data);
    const blobPath = `/v2/library/bench/blobs/${layer.digest}`;
    const size = layer.data.length;

    const docxy = async (name: string): Promise<MirrorProcess> => {
      const mirror = await spawnMirror(bed, join(work.path, name));
      stops.push(() => mirror.kill('SIGTERM'));
      return mirror;
    };
    const distribution = async (name: string): Promise<string> => {
      const proxy = await startDistributionProxy(join(work.path, name), bed.upstreamUrl);
      stops.push(() => proxy.stop());
      return proxy.url;
    };
    const nginx = await startNginx(join(work.path, 'nginx'), blobFile);
    stops.push(() => nginx.stop());

    // 1. Cold blob: through Docxy vs straight from the upstream (registry → 307 → CDN).
    // Single downloads are noisy on a shared 2-core machine: each figure is a median of RUNS.
    const directAuth = { authorization: `Bearer ${await token(bed.token.realm, 'library/bench', SERVICE)}` };
    const direct = await median(() => curlGet(`${bed.upstreamUrl}${blobPath}`, directAuth));
    const colds: Download[] = [];
    let d1!: MirrorProcess;
    let d1Auth!: Record<string, string>;
    for (let i = 0; i < RUNS; i++) {
      d1 = await docxy(`docxy-cold-${i}`);
      d1Auth = { authorization: `Bearer ${await token(`${d1.url}/auth/token`, 'library/bench', 'docxy')}` };
      colds.push(await curlGet(`${d1.url}${blobPath}`, d1Auth));
    }
    const cold = middle(colds);
    rows.push({
      figure: `cold blob (${BLOB_MB} MiB) throughput`,
      docxy: mbps(cold.bytes, cold.seconds),
      peer: `direct from upstream ${mbps(direct.bytes, direct.seconds)}`,
      ratio: (direct.seconds / cold.seconds).toFixed(2),
      target: '≥ 0.9',
    });

    // 1b. The same over a paced upstream (a fast WAN link instead of loopback).
    bed.cdn.fault = () => ({ bytesPerSecond: WAN_MB * MiB });
    try {
      const directWan = await median(() => curlGet(`${bed.upstreamUrl}${blobPath}`, directAuth));
      const wanColds: Download[] = [];
      for (let i = 0; i < RUNS; i++) {
        const mirror = await docxy(`docxy-wan-${i}`);
        wanColds.push(
          await curlGet(`${mirror.url}${blobPath}`, {
            authorization: `Bearer ${await token(`${mirror.url}/auth/token`, 'library/bench', 'docxy')}`,
          }),
        );
      }
      const wan = middle(wanColds);
      rows.push({
        figure: `cold blob throughput, upstream paced to ${WAN_MB} MiB/s`,
        docxy: mbps(wan.bytes, wan.seconds),
        peer: `direct from upstream ${mbps(directWan.bytes, directWan.seconds)}`,
        ratio: (directWan.seconds / wan.seconds).toFixed(2),
        target: '≥ 0.9',
      });
    } finally {
      bed.cdn.fault = undefined;
    }

    // 2. Warm blob: Docxy vs distribution's warm cache, nginx sendfile as the ceiling.
    await new Promise((r) => setTimeout(r, 500)); // let the last fill commit
    const warm = await median(() => curlGet(`${d1.url}${blobPath}`, d1Auth));
    const dist1 = await distribution('distribution-1');
    await curlGet(`${dist1}${blobPath}`);
    const distWarm = await median(() => curlGet(`${dist1}${blobPath}`));
    const ceiling = await median(() => curlGet(`${nginx.url}/blob`));
    rows.push({
      figure: 'warm blob throughput',
      docxy: mbps(warm.bytes, warm.seconds),
      peer: `distribution ${mbps(distWarm.bytes, distWarm.seconds)}; nginx sendfile ${mbps(ceiling.bytes, ceiling.seconds)}`,
      ratio: (distWarm.seconds / warm.seconds).toFixed(2),
      target: '≥ 1.2',
    });

    // 3–5. PULLERS concurrent cold pulls of the blob: upstream bytes, wall time, peak RSS.
    // The upstream is paced (a WAN link): on loopback the two cores would measure local
    // delivery of PULLERS × the blob, not what coalescing saves.
    bed.cdn.fault = () => ({ bytesPerSecond: FANOUT_WAN_MB * MiB });
    try {
      const ref = await docxy('docxy-fanout-ref');
      const single = await curlGet(`${ref.url}${blobPath}`, {
        authorization: `Bearer ${await token(`${ref.url}/auth/token`, 'library/bench', 'docxy')}`,
      });
      const d2 = await docxy('docxy-2');
      const d2Auth = { authorization: `Bearer ${await token(`${d2.url}/auth/token`, 'library/bench', 'docxy')}` };
      let sentBefore = bed.cdn.bytesSent();
      const fan = await curlFanOut(`${d2.url}${blobPath}`, d2Auth, PULLERS);
      const docxyUpstream = bed.cdn.bytesSent() - sentBefore;
      const rss = peakRss(d2.pid);
      const complete = fan.downloads.filter((d) => d.status === 200 && d.bytes === size).length;
      const dist2 = await distribution('distribution-2');
      sentBefore = bed.cdn.bytesSent();
      const distFan = await curlFanOut(`${dist2}${blobPath}`, {}, PULLERS);
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
        ratio: (fan.seconds / single.seconds).toFixed(2),
        target: '≤ 1.5',
      });
      rows.push({
        figure: 'peak RSS of the Docxy process during the fan-out',
        docxy: `${(rss / MiB).toFixed(0)} MiB`,
        peer: '',
        ratio: '',
        target: '≤ 200 MiB',
      });
    } finally {
      bed.cdn.fault = undefined;
    }

    // 6. Cached manifest by digest, wrk with 50 connections.
    const manifestPath = `/v2/library/bench/manifests/${image.top.digest}`;
    await curlGet(`${d1.url}${manifestPath}`, { ...d1Auth, accept: ACCEPT });
    await curlGet(`${dist1}${manifestPath}`, { accept: ACCEPT });
    const docxyRate = await wrkRate(`${d1.url}${manifestPath}`, { ...d1Auth, accept: ACCEPT });
    const distRate = await wrkRate(`${dist1}${manifestPath}`, { accept: ACCEPT });
    rows.push({
      figure: 'cached manifest-by-digest requests/s (wrk, 50 connections)',
      docxy: `${docxyRate.rps.toFixed(0)} (${docxyRate.non2xx} non-2xx)`,
      peer: `distribution ${distRate.rps.toFixed(0)} (${distRate.non2xx} non-2xx)`,
      ratio: (docxyRate.rps / distRate.rps).toFixed(2),
      target: '≥ 2',
    });

    // 7. 20 pulls of an unchanged tag: manifest GETs that reach the upstream.
    const gets = (): number => bed.front.manifestGets().length;
    let before = gets();
    for (let i = 0; i < 20; i++) await curlGet(`${d1.url}/v2/library/bench/manifests/latest`, { ...d1Auth, accept: ACCEPT });
    const docxyGets = gets() - before;
    before = gets();
    for (let i = 0; i < 20; i++) await curlGet(`${dist1}/v2/library/bench/manifests/latest`, { accept: ACCEPT });
    const distGets = gets() - before;
    rows.push({
      figure: 'upstream manifest GETs for 20 pulls of an unchanged tag',
      docxy: String(docxyGets),
      peer: `distribution ${distGets}`,
      ratio: '',
      target: '≤ 1 (distinct manifests)',
    });

    const digest = createHash('sha256').update(layer.data).digest('hex').slice(0, 12);
    process.stdout.write(
      `\nDocxy benchmark — blob sha256:${digest}…, ${BLOB_MB} MiB, ${PULLERS} pullers, medians of ${RUNS} single downloads, node ${process.version}\n\n`,
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
