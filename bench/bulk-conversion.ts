// Benchmark: one bulk conversion job of N URLs against a local site that answers every page
// after a fixed latency. Prints wall time, URLs/s, efficiency and the worker's peak RSS.
//
//   npm run bench:bulk -- --urls 10000 --latency 100 --concurrency 100 [--format h5p|markdown]
//                         [--chunk-size N] [--chunk-parallelism N] [--workers N] [--data-dir DIR]
//                         [--cpu-prof DIR]
//
// efficiency = (N × latency ÷ concurrency) ÷ measured wall time: 1.0 means the window of
// `concurrency` URLs was full of page latency the whole time and nothing else cost anything.
// Uses TEMPORAL_ADDRESS when set, otherwise starts its own dev server on a file database with
// the same SQLite pragmas as `npm start`; BLOB_STORE=s3 and the S3_* variables when set. The worker is the real `src/worker/main.ts`, compiled
// as `npm start` runs it (src/start/runtime-build.ts), in a child process started with the same
// V8 flags and malloc settings (WORKER_NODE_ARGS, workerEnv; more flags with
// BENCH_WORKER_NODE_ARGS), so its memory can be sampled from /proc.
import { ChildProcess, spawn } from 'node:child_process';
import readline from 'node:readline';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { storeUrlManifest } from '../src/activities/bulk-conversion/manifest';
import { BulkConversionInput, BulkConversionResult, BulkConversionTuning } from '../src/workflows/bulk-conversion/contract';
import { CONVERSION_FORMATS, ConversionFormat } from '../src/workflows/bulk-conversion/formats';
import { JOB_OWNER, JOB_TYPE } from '../src/shared/search-attributes';
import { prefixedQueue } from '../src/shared/task-queues';
import { startDevServer } from '../src/start/dev-server';
import { PROJECT_ROOT, provisionTemporalCli } from '../src/start/provision-cli';
import { WORKER_NODE_ARGS, workerEnv } from '../src/start/supervisor';
import { loadConfig } from '../src/config/env';
import { createBlobStore } from '../src/storage';
import { buildRuntime, builtEntry, RuntimeBuild } from '../src/start/runtime-build';
import { benchWorkspace } from './workspace';
import { freePort } from '../test/harness/ports';
import { startPageSite } from './page-site-process';
import { bulkConversion } from '../src/workflows/bulk-conversion';
import { BULK_CONVERSION_QUEUE } from '../src/workflows/bulk-conversion/contract';
import { cpuByThreadName, cpuSeconds } from './proc-stats';

const { values: args } = parseArgs({
  options: {
    urls: { type: 'string', default: '10000' },
    latency: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '100' },
    format: { type: 'string', default: 'h5p' },
    'chunk-size': { type: 'string' },
    'chunk-parallelism': { type: 'string' },
    workers: { type: 'string', default: '1' },
    // Where the worker stores artifacts (default: /dev/shm when it exists, else the run's temp
    // folder). On ext4, creating files right after many were deleted (a previous run's cleanup)
    // costs up to ~0.6 ms of kernel CPU each for a minute or more and swings figures by ±40%.
    'data-dir': { type: 'string', default: fs.existsSync('/dev/shm') ? '/dev/shm' : undefined },
    // Writes a V8 CPU profile of each worker process and each of its conversion threads into DIR
    // (one .cpuprofile per thread, written when the worker exits at the end of the run).
    'cpu-prof': { type: 'string' },
    // Prints the job's history (first run) as a timeline: where the time outside page fetches goes.
    timeline: { type: 'boolean', default: false },
  },
});

const positiveInt = (name: string, value: string | undefined, min = 1): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${value}`);
  return n;
};

async function main(): Promise<void> {
  const urlCount = positiveInt('urls', args.urls);
  const latencyMs = positiveInt('latency', args.latency, 0);
  const concurrency = positiveInt('concurrency', args.concurrency);
  const workerCount = positiveInt('workers', args.workers);
  const format = args.format as ConversionFormat;
  if (!CONVERSION_FORMATS.includes(format)) throw new Error(`--format must be one of ${CONVERSION_FORMATS.join(', ')}`);
  const tuning: BulkConversionTuning = {
    ...(args['chunk-size'] ? { chunkSize: positiveInt('chunk-size', args['chunk-size']) } : {}),
    ...(args['chunk-parallelism'] ? { chunkParallelism: positiveInt('chunk-parallelism', args['chunk-parallelism']) } : {}),
  };

  const { workDir, cleanups, cleanup } = benchWorkspace('dj-bench-');

  try {
    let address = process.env.TEMPORAL_ADDRESS;
    let serverPid: number | undefined;
    if (!address) {
      const server = await startDevServer(provisionTemporalCli(), {
        port: await freePort(),
        dbFile: path.join(workDir, 'temporal.db'),
        logLevel: 'error',
        stdio: 'ignore',
      });
      cleanups.push(() => server.stop());
      address = server.address;
      serverPid = server.pid;
    }
    log(`temporal at ${address}${process.env.TEMPORAL_ADDRESS ? '' : ' (own dev server, file database)'}`);

    const site = await startPageSite(latencyMs);
    cleanups.push(() => site.close());
    const prefix = `bench-${randomBytes(3).toString('hex')}-`;
    const dataDir = args['data-dir']
      ? fs.mkdtempSync(path.join(path.resolve(args['data-dir']), 'dj-bench-data-'))
      : path.join(workDir, 'data');
    if (args['data-dir']) cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
    // A prebuilt workflow bundle, as a production deployment ships it: the worker skips webpack.
    const runtime = await buildRuntime();
    const workers: ChildProcess[] = [];
    for (let i = 0; i < workerCount; i++) {
      const worker = await spawnWorker({ address, prefix, dataDir, runtime });
      cleanups.push(() => stopWorker(worker));
      workers.push(worker);
    }
    const rss = workers.map((w) => sampleRss(w.pid!));
    cleanups.push(async () => rss.forEach((r) => r.stop()));
    const rssNow = () => rss.map((r) => mb(r.current())).join(' + ');
    log(`${workerCount} worker process(es) ready (pid ${workers.map((w) => w.pid).join(', ')}), RSS ${rssNow()}`);

    const connection = await Connection.connect({ address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });

    const jobId = `bench-${Date.now()}`;
    const urls = Array.from({ length: urlCount }, (_, i) => site.url(`/page/${i}`));
    // The blob store the workers use: BLOB_STORE=s3 and the S3_* variables when set, else DATA_DIR.
    const store = createBlobStore(loadConfig({ ...process.env, DATA_DIR: dataDir }));
    log(
      `job ${jobId}: ${urlCount} URLs, ${latencyMs} ms per page, concurrency ${concurrency}, ${format}, ${workerCount} worker process(es), data in ${path.dirname(dataDir)}`,
    );

    const workersCpu = () => workers.reduce((sum, w) => sum + cpuSeconds(w.pid!), 0);
    // The main thread runs the event loop (fetches, Temporal, the window): the figure to keep low.
    const mainThreadsCpu = () => workers.reduce((sum, w) => sum + cpuSeconds(w.pid!, w.pid!), 0);
    const cpuBefore = workersCpu();
    const mainCpuBefore = mainThreadsCpu();
    // The site and Temporal share the machine's cores with the worker.
    const siteCpuBefore = cpuSeconds(site.pid);
    const temporalCpuBefore = serverPid ? cpuSeconds(serverPid) : 0;
    const started = Date.now();
    const source = urlCount > 1000 ? await storeUrlManifest(store, jobId, 'bench', urls) : { urls };
    const input: BulkConversionInput = { jobId, owner: 'bench', source, format, concurrency, tuning };
    const handle = await client.workflow.start(bulkConversion, {
      workflowId: jobId,
      taskQueue: prefixedQueue(prefix, BULK_CONVERSION_QUEUE),
      args: [input],
      typedSearchAttributes: [
        { key: JOB_TYPE, value: 'bulk-conversion' },
        { key: JOB_OWNER, value: 'bench' },
      ],
    });
    const progress = setInterval(() => {
      handle.query<{ succeeded: number; failed: number }>('progress').then(
        (p) => log(`  … ${p.succeeded + p.failed}/${urlCount} done, worker RSS ${rssNow()}`),
        () => undefined,
      );
    }, 10_000);
    const result = (await handle.result()) as BulkConversionResult;
    const wallMs = Date.now() - started;
    const threadCpu = workers.map((w) => cpuByThreadName(w.pid!));
    const workerCpu = workersCpu() - cpuBefore;
    const mainCpu = mainThreadsCpu() - mainCpuBefore;
    const siteCpu = cpuSeconds(site.pid) - siteCpuBefore;
    const temporalCpu = serverPid ? cpuSeconds(serverPid) - temporalCpuBefore : undefined;
    clearInterval(progress);
    const runs = await client.workflow.count(`WorkflowId = "${jobId}"`);
    if (args.timeline) await printTimeline(handle, started);

    const ideal = (urlCount * latencyMs) / concurrency;
    console.log('');
    console.log(`URLs              ${urlCount} (${result.succeeded} succeeded, ${result.failed} failed)`);
    console.log(`latency           ${latencyMs} ms, concurrency ${concurrency}, format ${format}`);
    console.log(`wall time         ${(wallMs / 1000).toFixed(1)} s`);
    console.log(`throughput        ${((urlCount / wallMs) * 1000).toFixed(0)} URLs/s`);
    console.log(`efficiency        ${latencyMs ? (ideal / wallMs).toFixed(2) : 'n/a (latency 0)'}  (ideal ${(ideal / 1000).toFixed(1)} s)`);
    console.log(`peak worker RSS   ${rss.map((r) => mb(r.peak())).join(', ')}${workerCount > 1 ? ' (per worker process)' : ''}`);
    console.log(
      `worker CPU        ${workerCpu.toFixed(1)} s (${(((workerCpu * 1000) / wallMs) * 100).toFixed(0)}% of one core, ${((workerCpu * 1e6) / urlCount).toFixed(0)} µs per URL, conversion threads included)`,
    );
    const perUrl = (s: number) => `${((s * 1e6) / urlCount).toFixed(0)} µs per URL`;
    console.log(
      `  main thread     ${mainCpu.toFixed(1)} s (${(((mainCpu * 1000) / wallMs) * 100).toFixed(0)}% of one core, ${perUrl(mainCpu)}: the event loop)`,
    );
    console.log(
      `other CPU         test site ${siteCpu.toFixed(1)} s (${perUrl(siteCpu)})${temporalCpu !== undefined ? `, Temporal dev server ${temporalCpu.toFixed(1)} s (${perUrl(temporalCpu)})` : ''}`,
    );
    for (const [i, byName] of threadCpu.entries()) {
      const shares = [...byName].sort((a, b) => b[1] - a[1]).map(([name, cpu]) => `${name} ${cpu.toFixed(1)} s`);
      console.log(
        `  by thread       ${shares.join(', ')}${workers.length > 1 ? ` (worker ${i + 1}, whole life)` : ' (whole life of the process)'}`,
      );
    }
    for (const w of workers) {
      const pool = poolReports.get(w.pid!);
      const threadPeaks = pool?.peakHeapMb.length ? pool.peakHeapMb.map((m) => `${m} MB`).join(', ') : 'n/a';
      console.log(
        `conversion pool   ${pool?.threads ?? '?'} threads (worker pid ${w.pid}: ${osThreads(w.pid!)} OS threads at the end), peak heap per thread ${threadPeaks}`,
      );
    }
    console.log(`workflow runs     ${runs.count} (continue-as-new ${runs.count - 1}×)`);
    console.log(
      `machine           ${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    await cleanup();
  }
}

interface PoolReport {
  threads: number;
  peakHeapMb: number[];
}
/** The conversion pool figures each worker logged with its latest finished chunk. */
const poolReports = new Map<number, PoolReport>();

function spawnWorker(o: { address: string; prefix: string; dataDir: string; runtime: RuntimeBuild }): Promise<ChildProcess> {
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  if (args['cpu-prof']) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${path.resolve(args['cpu-prof'])}`);
  const child = spawn(process.execPath, [...WORKER_NODE_ARGS, ...nodeArgs, builtEntry(o.runtime, 'src/worker/main.ts')], {
    cwd: PROJECT_ROOT,
    env: workerEnv({
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: o.address,
      TASK_QUEUE_PREFIX: o.prefix,
      DATA_DIR: o.dataDir,
      WORKFLOW_BUNDLE_PATH: o.runtime.workflowBundlePath,
      WORKER_TASK_QUEUES: 'conversion,webhooks',
      OUTBOUND_ALLOW_HOSTS: '127.0.0.1',
      WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (output.length < 100_000) output += `${line}\n`;
      if (line.includes('"worker ready"')) resolve(child);
      if (line.includes('"chunk converted"'))
        poolReports.set(child.pid!, (JSON.parse(line) as { conversionPool: PoolReport }).conversionPool);
    });
    child.stderr!.on('data', (d: Buffer) => {
      output += d.toString();
      process.stderr.write(d);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}:\n${output}`)));
  });
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Samples the process's resident set size from /proc every 200 ms. */
function sampleRss(pid: number) {
  let peak = 0;
  let current = 0;
  const read = () => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) {
        current = Number(m[1]) * 1024;
        peak = Math.max(peak, current);
      }
    } catch {
      /* process gone */
    }
  };
  read();
  const timer = setInterval(read, 200);
  return { peak: () => peak, current: () => current, stop: () => clearInterval(timer) };
}

/** Threads of a process (V8, libuv, Temporal core and conversion threads), from /proc. */
function osThreads(pid: number): string {
  try {
    return /Threads:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

/** Each history event of the job's first run, with its time after the start request. */
async function printTimeline(handle: { fetchHistory(): Promise<{ events?: unknown[] | null }> }, startedAt: number): Promise<void> {
  const { events } = await handle.fetchHistory();
  console.log('timeline (ms after the start request)');
  for (const e of (events ?? []) as { eventTime?: { seconds?: unknown; nanos?: number | null } | null; eventType?: unknown }[]) {
    const ms = Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6) - startedAt;
    const type = typeof e.eventType === 'number' ? temporal.api.enums.v1.EventType[e.eventType] : String(e.eventType);
    console.log(`  ${String(ms).padStart(6)}  ${type.replace(/^EVENT_TYPE_/, '')}`);
  }
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const log = (msg: string) => console.log(`[bench] ${msg}`);

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
