import { randomBytes } from 'node:crypto';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import type { ActivityDeps } from '../../src/activities/deps';
import { AppConfig, loadConfig } from '../../src/config/env';
import { createLogger } from '../../src/observability/logger';
import { ALL_TASK_QUEUES } from '../../src/worker/job-registry';
import { createBlobStore } from '../../src/storage';
import { PROJECT_ROOT } from '../../src/start/provision-cli';
import { builtEntry } from '../../src/start/runtime-build';
import { WORKER_NODE_ARGS, workerEnv } from '../../src/start/supervisor';
import { createWorkers, loadWorkflowBundle } from '../../src/worker/workers';

let runtimeInstalled = false;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
}

export function testAddress(): string {
  const a = process.env.TEMPORAL_TEST_ADDRESS;
  if (!a) throw new Error('TEMPORAL_TEST_ADDRESS is not set: run tests through jest (global setup starts the dev server)');
  return a;
}

/** A task-queue prefix of its own per test, so tests never pick up each other's tasks. */
export function uniquePrefix(name = 't'): string {
  return `${name.replace(/[^A-Za-z0-9]/g, '').slice(0, 16)}-${randomBytes(4).toString('hex')}-`;
}

export const TEST_WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/**
 * The suite-wide blob store: `npm run test:cluster` sets BLOB_STORE=s3 and the S3_* variables
 * (its MinIO) for every test config; otherwise the fs store in each config's DATA_DIR.
 */
function suiteBlobStoreEnv(): Record<string, string> {
  const names = ['BLOB_STORE', 'S3_BUCKET', 'S3_ENDPOINT', 'S3_REGION', 'S3_FORCE_PATH_STYLE'];
  return Object.fromEntries(names.filter((n) => process.env[n]).map((n) => [n, process.env[n]!]));
}

/** The variables each test config was loaded from, so worker processes get exactly the same. */
const rawEnvOf = new WeakMap<AppConfig, Record<string, string | undefined>>();

/** A full config as a deployment would have it, pointed at the test server and a temp data dir. */
export function testConfig(overrides: Record<string, string | undefined> = {}): AppConfig {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-test-'));
  const raw = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    TEMPORAL_ADDRESS: testAddress(),
    TASK_QUEUE_PREFIX: uniquePrefix(),
    OUTBOUND_ALLOW_HOSTS: '127.0.0.1,localhost',
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    WEBHOOK_RETRY_SCHEDULE: '0s,1s,1s,2s',
    API_KEYS: 'alice:user:alice-key-0123456789abcdef,bob:user:bob-key-0123456789abcdef0,root:admin:root-key-0123456789abcdef',
    ...suiteBlobStoreEnv(),
    ...overrides,
  };
  const config = loadConfig(raw);
  rawEnvOf.set(config, raw);
  return config;
}

export const KEYS = {
  alice: 'alice-key-0123456789abcdef',
  bob: 'bob-key-0123456789abcdef0',
  admin: 'root-key-0123456789abcdef',
} as const;

export function testDeps(config: AppConfig, overrides: Partial<ActivityDeps<AppConfig>> = {}): ActivityDeps<AppConfig> {
  return {
    config,
    store: createBlobStore(config),
    logger: createLogger({ test: true }, config.LOG_LEVEL),
    now: () => new Date(),
    ...overrides,
  };
}

export async function testClient(config?: AppConfig): Promise<Client> {
  const connection = await Connection.connect({ address: config?.TEMPORAL_ADDRESS ?? testAddress() });
  return new Client({ connection, namespace: config?.TEMPORAL_NAMESPACE ?? 'default' });
}

export interface RunningWorkers {
  shutdown(): Promise<void>;
}

/**
 * Real Workers on the config's prefixed task queues: in this process, or — when the suite runs
 * on the cluster (TEST_WORKER_PROCESSES=N) and the test injects no deps — N worker processes
 * that share nothing but Temporal and the blob store (own DATA_DIR, own working directory).
 */
export async function startWorkers(
  config: AppConfig,
  opts: { queues?: string[]; deps?: ActivityDeps<AppConfig> } = {},
): Promise<RunningWorkers> {
  const processes = Number(process.env.TEST_WORKER_PROCESSES ?? 0);
  if (processes > 0 && !opts.deps) return startWorkerProcesses(config, processes, opts.queues ?? ALL_TASK_QUEUES);
  quietRuntime();
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const workers = await createWorkers({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    prefix: config.TASK_QUEUE_PREFIX,
    queues: opts.queues ?? ALL_TASK_QUEUES,
    deps: opts.deps ?? testDeps(config),
    workflowBundle: await loadWorkflowBundle(),
    shutdownGraceTimeMs: 2000,
  });
  const running = Promise.all(workers.map((w) => w.run()));
  return {
    async shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** `count` worker processes, each on a host of its own as far as files go. */
export async function startWorkerProcesses(config: AppConfig, count: number, queues: readonly string[]): Promise<RunningWorkers> {
  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const host = fs.mkdtempSync(path.join(os.tmpdir(), `dj-host${i + 1}-`));
      children.push(
        await spawnWorkerProcess(config, { DATA_DIR: path.join(host, 'data'), WORKER_TASK_QUEUES: queues.join(',') }, { cwd: host }),
      );
    }
  } catch (e) {
    for (const c of children) c.kill('SIGKILL');
    throw e;
  }
  return {
    async shutdown() {
      await Promise.all(
        children.map(async (c) => {
          if (c.exitCode !== null || c.signalCode !== null) return;
          const exited = new Promise((r) => c.once('exit', r));
          c.kill('SIGTERM');
          const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(timer);
        }),
      );
    },
  };
}

/** Environment variables that make `npm run worker` / `npm run api` use a test config. */
export function envFor(config: AppConfig, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...rawEnvOf.get(config),
    NODE_ENV: 'test',
    LOG_LEVEL: config.LOG_LEVEL,
    DATA_DIR: config.dataDir,
    TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: config.TEMPORAL_NAMESPACE,
    TASK_QUEUE_PREFIX: config.TASK_QUEUE_PREFIX,
    OUTBOUND_ALLOW_HOSTS: config.OUTBOUND_ALLOW_HOSTS.join(','),
    WEBHOOK_SECRET: (config.WEBHOOK_SECRET ?? []).join(' '),
    WEBHOOK_RETRY_SCHEDULE: config.WEBHOOK_RETRY_SCHEDULE.map((ms) => `${ms}ms`).join(','),
    WEBHOOK_TIMEOUT: `${config.WEBHOOK_TIMEOUT}ms`,
    ...(config.ALERT_WEBHOOK_URL ? { ALERT_WEBHOOK_URL: config.ALERT_WEBHOOK_URL } : {}),
    FETCH_TIMEOUT: `${config.FETCH_TIMEOUT}ms`,
    FETCH_MAX_BYTES: String(config.FETCH_MAX_BYTES),
    VIDEO_MAX_IN_FLIGHT: String(config.VIDEO_MAX_IN_FLIGHT),
    VIDEO_STARTS_PER_MINUTE: String(config.VIDEO_STARTS_PER_MINUTE),
    VIDEO_POLL_DEADLINE: `${config.VIDEO_POLL_DEADLINE}ms`,
    ...(config.EMULATOR_URL ? { EMULATOR_URL: config.EMULATOR_URL } : {}),
    API_PUBLIC_URL: config.publicUrl,
    BLOB_STORE: config.BLOB_STORE,
    ...(config.BLOB_STORE === 's3' ? s3Env(config) : {}),
    ...extra,
  };
}

function s3Env(config: AppConfig): Record<string, string> {
  const env: Record<string, string | undefined> = {
    S3_BUCKET: config.S3_BUCKET,
    S3_PREFIX: config.S3_PREFIX,
    S3_ENDPOINT: config.S3_ENDPOINT,
    S3_REGION: config.S3_REGION,
    S3_FORCE_PATH_STYLE: config.S3_FORCE_PATH_STYLE === undefined ? undefined : String(config.S3_FORCE_PATH_STYLE),
    S3_PRESIGN_DOWNLOADS: String(config.S3_PRESIGN_DOWNLOADS),
    S3_PRESIGN_EXPIRY: `${config.S3_PRESIGN_EXPIRY}ms`,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** The real worker entry point in a child process (for SIGKILL tests). Resolves once it logs "worker ready". */
export async function spawnWorkerProcess(
  config: AppConfig,
  extraEnv: Record<string, string> = {},
  o: { cwd?: string } = {},
): Promise<ChildProcess & { output(): string }> {
  // The compiled worker of the suite's build (global-setup), with the same V8 flags and malloc
  // settings as `npm start` gives its worker, so tests see what production runs.
  const child = spawn(process.execPath, [...WORKER_NODE_ARGS, builtEntry({ dir: process.env.TEST_RUNTIME_BUILD! }, 'src/worker/main.ts')], {
    cwd: o.cwd ?? PROJECT_ROOT,
    env: workerEnv(envFor(config, { LOG_LEVEL: 'info', ...extraEnv })),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not become ready:\n${output}`)), 90_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('"worker ready"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code} before ready:\n${output}`));
    });
  });
  return Object.assign(child, { output: () => output });
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/**
 * A dev server of a test's own on a SQLite file, for tests that stop and restart Temporal.
 * `restart()` stops it and starts it again on the same port and file.
 */
export async function startOwnDevServer(
  dbFile: string,
): Promise<{ address: string; stop(): Promise<void>; restart(downMs?: number): Promise<void> }> {
  const { startDevServer } = await import('../../src/start/dev-server');
  const { provisionTemporalCli } = await import('../../src/start/provision-cli');
  const { freePort } = await import('./ports');
  const cli = process.env.TEMPORAL_CLI_PATH_RESOLVED
    ? { route: 'TEMPORAL_CLI_PATH' as const, path: process.env.TEMPORAL_CLI_PATH_RESOLVED }
    : provisionTemporalCli(() => undefined);
  const port = await freePort();
  let server = await startDevServer(cli, { port, dbFile, logLevel: 'error', stdio: 'ignore' });
  return {
    address: server.address,
    stop: () => server.stop(),
    async restart(downMs = 1000) {
      await server.stop();
      await new Promise((r) => setTimeout(r, downMs));
      server = await startDevServer(cli, { port, dbFile, logLevel: 'error', stdio: 'ignore' });
    },
  };
}
