// Benchmark: the blob stores under the load a bulk job gives them. Prints, per store, small
// artifact puts/s (with p50/p99 latency), gets/s, a big object streamed in and out (MB/s) and
// how far the process's RSS rose while it streamed (nothing may be held whole).
//
//   npm run bench:storage -- [--store fs|s3|both] [--objects 2000] [--size 8192] [--concurrency 50] [--big-mb 200]
//
// s3 runs against a MinIO of its own (built on first use, see `npm run storage:provision`).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { BlobStore } from '../src/storage/blob-store';
import { FsBlobStore } from '../src/storage/fs-blob-store';
import { S3BlobStore } from '../src/storage/s3-blob-store';
import { startMinio } from '../src/start/minio';

const { values: args } = parseArgs({
  options: {
    store: { type: 'string', default: 'both' },
    objects: { type: 'string', default: '2000' },
    size: { type: 'string', default: '8192' },
    concurrency: { type: 'string', default: '50' },
    'big-mb': { type: 'string', default: '200' },
  },
});
const OBJECTS = Number(args.objects);
const SIZE = Number(args.size);
const CONCURRENCY = Number(args.concurrency);
const BIG = Number(args['big-mb']) * 1024 * 1024;

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Peak RSS above the starting point while `fn` runs, sampled every 10 ms. */
async function peakRssDuring(fn: () => Promise<void>): Promise<number> {
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return Math.max(0, peak - base);
}

function bigStream(): Readable {
  let sent = 0;
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  return new Readable({
    read() {
      if (sent >= BIG) return void this.push(null);
      const n = Math.min(chunk.length, BIG - sent);
      sent += n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

async function run(name: string, store: BlobStore): Promise<void> {
  const body = Buffer.alloc(SIZE, 0x61);
  const keys = Array.from({ length: OBJECTS }, (_, i) => `jobs/bench/artifacts/${String(i).padStart(6, '0')}.md`);
  const latencies: number[] = [];
  let t0 = performance.now();
  await pool(keys, CONCURRENCY, async (key) => {
    const s = performance.now();
    await store.put(key, body);
    latencies.push(performance.now() - s);
  });
  const putSeconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);

  t0 = performance.now();
  await pool(keys, CONCURRENCY, async (key) => void (await store.getBuffer(key)));
  const getSeconds = (performance.now() - t0) / 1000;

  let bigPut = 0;
  const putRss = await peakRssDuring(async () => {
    const s = performance.now();
    await store.put('jobs/bench/big.mp4', bigStream());
    bigPut = (performance.now() - s) / 1000;
  });
  let bigGet = 0;
  const getRss = await peakRssDuring(async () => {
    const s = performance.now();
    for await (const _chunk of await store.get('jobs/bench/big.mp4'));
    bigGet = (performance.now() - s) / 1000;
  });
  await store.deleteFolder('jobs/bench');

  const mb = BIG / 1024 / 1024;
  console.log(
    [
      `${name}:`,
      `  ${OBJECTS} puts of ${SIZE} B at ${CONCURRENCY} concurrent: ${(OBJECTS / putSeconds).toFixed(0)}/s, latency p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms`,
      `  ${OBJECTS} gets: ${(OBJECTS / getSeconds).toFixed(0)}/s`,
      `  ${mb} MB streamed in: ${(mb / bigPut).toFixed(0)} MB/s, RSS +${(putRss / 1024 / 1024).toFixed(0)} MB`,
      `  ${mb} MB streamed out: ${(mb / bigGet).toFixed(0)} MB/s, RSS +${(getRss / 1024 / 1024).toFixed(0)} MB`,
    ].join('\n'),
  );
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${os.cpus().length} cores`);
  if (args.store === 'fs' || args.store === 'both') {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-bench-blobs-'));
    try {
      await run(`fs (${root}, fsync on every write)`, new FsBlobStore(root));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
  if (args.store === 's3' || args.store === 'both') {
    const minio = await startMinio({ log: (m) => console.log(m) });
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: minio.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: minio.env.AWS_SECRET_ACCESS_KEY });
    const store = new S3BlobStore({ bucket: minio.bucket, endpoint: minio.endpoint, region: 'us-east-1', forcePathStyle: true });
    try {
      await run('s3 (MinIO on loopback, single drive)', store);
    } finally {
      store.close();
      await minio.stop();
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
