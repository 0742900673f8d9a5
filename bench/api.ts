// Benchmark: the API's job start and job list on a Temporal server, with the started jobs running.
//
//   npm run bench:api [-- --clients 50 --rate 20 --duration 10 --jobs 5000 --cluster --cpu-prof]
//
// 1. closed loop: `--clients` connections start one-URL bulk jobs as fast as answers come back
//    (latency p50/p99, starts/s);
// 2. open loop: `--rate` starts/s from enough connections that the rate, not the answers, sets
//    the pace (autocannon corrects for coordinated omission);
// 3. `GET /api/v1/jobs` from `--clients` connections once at least `--jobs` jobs exist;
// 4. the history events of one one-URL job, by type.
// `--cpu-prof` profiles the API process (node --cpu-prof) and prints where its CPU went.
// Temporal: TEMPORAL_ADDRESS when set; `--cluster` starts `npm run cluster`'s cluster; otherwise a
// dev server on a file database as `npm start` runs it. The API and one worker (conversion queue)
// are the real entry points in child processes; the started jobs fetch from a local site.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startCluster } from '../src/cluster/cluster';
import { loadConfig } from '../src/config/env';
import { startDevServer } from '../src/start/dev-server';
import { provisionTemporalCli } from '../src/start/provision-cli';
import { bundleWorkflows } from '../src/worker/workers';
import { startApiReplica } from '../test/cluster/api-replica';
import { startTestSite } from '../test/fixtures/test-site';
import { benchWorkspace } from './workspace';
import { freePort } from '../test/harness/ports';
import { summariseCpuProfile } from './cpu-profile';
import { cpuSeconds } from './proc-stats';
import { spawnWorkerProcess } from '../test/harness/temporal';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '50' },
    rate: { type: 'string', default: '20' },
    duration: { type: 'string', default: '10' },
    jobs: { type: 'string', default: '5000' },
    cluster: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
  },
});
const num = (name: keyof typeof args) => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
};
const log = (m: string) => console.log(`[bench] ${m}`);
const ms = (v: number) => `${Math.round(v)} ms`;

async function main(): Promise<void> {
  const clients = num('clients');
  const rate = num('rate');
  const duration = num('duration');
  const jobsWanted = num('jobs');
  const { workDir, cleanups, cleanup } = benchWorkspace('dj-bench-api-');
  const profileDir = `${workDir}-cpu-prof`;

  try {
    let address = process.env.TEMPORAL_ADDRESS;
    let serverPid: number | undefined;
    let where = `TEMPORAL_ADDRESS=${address}`;
    if (!address && args.cluster) {
      const cluster = await startCluster({ log });
      cleanups.push(() => cluster.stop());
      address = cluster.address;
      where = `own cluster (${cluster.historyShards} history shards, PostgreSQL)`;
    } else if (!address) {
      const server = await startDevServer(provisionTemporalCli(log), {
        port: await freePort(),
        dbFile: path.join(workDir, 'temporal.db'),
        logLevel: 'error',
        stdio: 'ignore',
      });
      cleanups.push(() => server.stop());
      serverPid = server.pid;
      address = server.address;
      where = 'own dev server (SQLite file, WAL)';
    }
    log(`temporal: ${where} at ${address}`);

    const site = await startTestSite({ latencyMs: 0 });
    cleanups.push(() => site.close());
    const bundlePath = path.join(workDir, 'workflows.js');
    fs.writeFileSync(bundlePath, await bundleWorkflows());
    process.env.WORKFLOW_BUNDLE_PATH = bundlePath;
    const key = randomBytes(16).toString('hex');
    const owner = `bench${randomBytes(3).toString('hex')}`;
    const env = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATA_DIR: path.join(workDir, 'data'),
      TEMPORAL_ADDRESS: address,
      TASK_QUEUE_PREFIX: `${owner}-`,
      OUTBOUND_ALLOW_HOSTS: '127.0.0.1',
      WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
      API_KEYS: `${owner}:user:${key}`,
      // The blob store of the environment (BLOB_STORE=s3 and S3_*), else fs under DATA_DIR.
      ...Object.fromEntries(Object.entries(process.env).filter(([k, v]) => /^(BLOB_STORE|S3_[A-Z_]+)$/.test(k) && v)),
    };
    const config = loadConfig(env);
    const worker = await spawnWorkerProcess(config, { WORKER_TASK_QUEUES: 'conversion' });
    cleanups.push(async () => {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      await exited;
    });
    const api = await startApiReplica(
      config,
      { NODE_ENV: env.NODE_ENV, API_KEYS: env.API_KEYS },
      { nodeArgs: args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [] },
    );
    cleanups.push(() => api.stop());
    log(`API ${api.url}, worker pid ${worker.pid}, owner ${owner}`);

    const connection = await Connection.connect({ address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });

    let n = 0;
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const startRequest: autocannon.Request = {
      method: 'POST',
      path: '/api/v1/jobs/bulk-conversions',
      headers,
      setupRequest: (req) => ({ ...req, body: JSON.stringify({ urls: [site.url(`/page/${n++}`)], format: 'markdown' }) }),
    };
    // One start by hand first: a misconfigured run fails here with the API's answer.
    const probe = await fetch(`${api.url}/api/v1/jobs/bulk-conversions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ urls: [site.url('/page/probe')], format: 'markdown' }),
    });
    if (probe.status !== 202) throw new Error(`a job start answered ${probe.status}: ${await probe.text()}`);
    const probeJobId = ((await probe.json()) as { jobId: string }).jobId;
    const report = (title: string, r: autocannon.Result) => {
      const non2xx = r.non2xx + r.errors + r.timeouts;
      console.log(
        `${title.padEnd(44)} p50 ${ms(r.latency.p50).padStart(7)}  p99 ${ms(r.latency.p99).padStart(7)}  ${r.requests.average.toFixed(1).padStart(6)} req/s  (${r.requests.total} requests${non2xx ? `, ${non2xx} failed` : ''})`,
      );
      return r;
    };
    const run = (o: Omit<autocannon.Options, 'url'>) => autocannon({ url: api.url, duration, ...o });
    const cpuBefore = serverPid ? cpuSeconds(serverPid) : 0;
    console.log('');
    report(`job start, ${clients} clients (closed loop)`, await run({ connections: clients, requests: [startRequest] }));
    report(`job start, ${rate}/s (open loop)`, await run({ connections: Math.max(rate, 10), overallRate: rate, requests: [startRequest] }));

    // The dev server's CPU per job, start to end: CPU time, so it holds on a busy machine where latencies do not.
    const running = async () => (await client.workflow.count(`JobOwner = "${owner}" AND ExecutionStatus = "Running"`)).count;
    for (let t = 0; t < 120 && (await running()) > 0; t++) await new Promise((r) => setTimeout(r, 1000));
    if (serverPid) {
      const cpu = cpuSeconds(serverPid) - cpuBefore;
      const jobs = (await client.workflow.count(`JobOwner = "${owner}"`)).count;
      console.log(
        `dev server CPU for ${jobs} jobs, started to closed: ${cpu.toFixed(1)} s, ${((cpu * 1000) / jobs).toFixed(1)} ms per job`,
      );
    }

    // Enough jobs of this owner for the list benchmark, started straight through Temporal.
    const existing = async () => (await client.workflow.count(`JobOwner = "${owner}"`)).count;
    let have = await existing();
    if (have < jobsWanted) {
      log(`starting ${jobsWanted - have} more jobs for the list benchmark…`);
      const started = Date.now();
      const batch = 50;
      for (let i = have; i < jobsWanted; i += batch) {
        await Promise.all(
          Array.from({ length: Math.min(batch, jobsWanted - i) }, () =>
            fetch(`${api.url}/api/v1/jobs/bulk-conversions`, {
              method: 'POST',
              body: JSON.stringify({ urls: [site.url(`/page/${n++}`)], format: 'markdown' }),
              headers,
            }).then((r) => r.arrayBuffer()),
          ),
        );
      }
      log(`  … in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      for (let t = 0; t < 60 && (have = await existing()) < jobsWanted; t++) await new Promise((r) => setTimeout(r, 1000));
    }
    report(
      `GET /api/v1/jobs, ${have} jobs, ${clients} clients`,
      await run({ connections: clients, requests: [{ method: 'GET', path: '/api/v1/jobs', headers: { authorization: `Bearer ${key}` } }] }),
    );

    // History of one finished one-URL job (the probe).
    const probeHandle = client.workflow.getHandle(probeJobId);
    const finished = await Promise.race([
      probeHandle.result().then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 120_000)),
    ]);
    if (!finished) log(`the probe job ${probeJobId} did not finish within 2 minutes; its history so far:`);
    const history = await probeHandle.fetchHistory();
    console.log(`\nhistory events of a one-URL bulk job: ${history.events?.length}`);
    for (const e of history.events ?? []) {
      const name = temporal.api.enums.v1.EventType[e.eventType ?? 0].replace(/^EVENT_TYPE_/, '');
      const detail =
        e.activityTaskScheduledEventAttributes?.activityType?.name ??
        e.markerRecordedEventAttributes?.markerName ??
        e.workflowExecutionSignaledEventAttributes?.signalName ??
        '';
      console.log(`  ${String(e.eventId).padStart(3)}  ${name}${detail ? ` (${detail})` : ''}`);
    }
    console.log(
      `\nmachine: ${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    await cleanup();
  }
  if (args['cpu-prof']) {
    for (const f of fs.existsSync(profileDir) ? fs.readdirSync(profileDir) : []) {
      console.log(`\nAPI CPU profile ${path.join(profileDir, f)}\n${summariseCpuProfile(path.join(profileDir, f))}`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
