import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../shared/search-attributes';
import { setNamespaceRetention } from '../temporal/namespace-retention';
import { ProvisionedCli } from './provision-cli';

// Runs `temporal server start-dev` with our search attributes and SQLite tuning.

export interface DevServerOptions {
  port: number;
  uiPort?: number; // omitted → headless
  dbFile?: string; // omitted → in-memory
  namespace?: string;
  extraArgs?: string[];
  logLevel?: string;
  stdio?: 'inherit' | 'ignore';
  /** The namespace's retention of closed workflows (JOB_RETENTION), set once the server answers. */
  retentionMs?: number;
}

export interface RunningDevServer {
  address: string;
  uiUrl?: string;
  pid?: number;
  stop(): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * Priority keys order a backed-up task queue; fairness keys (the job's owner) share it between
 * owners. Server 1.29 keeps fairness passes per task-queue partition and mixes partitions'
 * tasks on forwarding, so one partition per queue keeps the order exact (a single dev server
 * does not need more). One partition also makes a queue's rate limit (BUILDS_PER_MINUTE,
 * VIDEO_STARTS_PER_MINUTE) exact: the server splits a limit over partitions.
 */
const MATCHING_FLAGS = [
  'matching.useNewMatcher=true',
  'matching.enableFairness=true',
  'matching.numTaskqueueReadPartitions=1',
  'matching.numTaskqueueWritePartitions=1',
];

function serverArgs(o: DevServerOptions): string[] {
  const args = ['--log-level', o.logLevel ?? 'warn', '--namespace', o.namespace ?? 'default'];
  for (const name of CUSTOM_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${name}=Keyword`);
  for (const flag of MATCHING_FLAGS) args.push('--dynamic-config-value', flag);
  // The CLI rereads the search attribute list from the database on every use (start, upsert,
  // visibility write, list) so attributes created at runtime show at once; ours are created with
  // the server above, so the server's one-minute cache is enough and saves those reads.
  args.push('--dynamic-config-value', 'system.forceSearchAttributesCacheRefreshOnRead=false');
  if (o.dbFile) {
    // WAL + NORMAL sync: an order of magnitude more workflow throughput on a file database.
    // A 64 MiB page cache keeps the hot tables of thousands of jobs in memory (SQLite's default is 2 MiB).
    for (const pragma of ['journal_mode=wal', 'synchronous=normal', 'cache_size=-65536', 'temp_store=memory'])
      args.push('--sqlite-pragma', pragma);
  }
  return [...args, ...(o.extraArgs ?? [])];
}

export async function startDevServer(cli: ProvisionedCli, o: DevServerOptions): Promise<RunningDevServer> {
  const address = `127.0.0.1:${o.port}`;
  if (!cli.path) return startViaSdkDownload(address, o);

  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port), ...serverArgs(o)];
  if (o.dbFile) {
    fs.mkdirSync(path.dirname(o.dbFile), { recursive: true });
    args.push('--db-filename', o.dbFile);
  }
  if (o.uiPort) args.push('--ui-port', String(o.uiPort));
  else args.push('--headless');

  const child = spawn(cli.path, args, { stdio: ['ignore', o.stdio ?? 'ignore', o.stdio ?? 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitForFrontend(address, child, exited);
  if (o.retentionMs) await setNamespaceRetention(address, o.namespace ?? 'default', o.retentionMs);
  return {
    address,
    uiUrl: o.uiPort ? `http://localhost:${o.uiPort}` : undefined,
    pid: child.pid,
    exited,
    stop: () => stopChild(child, exited, 20_000),
  };
}

async function startViaSdkDownload(address: string, o: DevServerOptions): Promise<RunningDevServer> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1',
      port: o.port,
      ui: Boolean(o.uiPort),
      uiPort: o.uiPort,
      dbFilename: o.dbFile,
      namespace: o.namespace,
      searchAttributes: [],
      extraArgs: serverArgs(o),
    },
  });
  if (o.retentionMs) await setNamespaceRetention(address, o.namespace ?? 'default', o.retentionMs);
  let resolveExit!: (code: number | null) => void;
  const exited = new Promise<number | null>((r) => (resolveExit = r));
  return {
    address,
    uiUrl: o.uiPort ? `http://localhost:${o.uiPort}` : undefined,
    exited,
    stop: async () => {
      await env.teardown();
      resolveExit(0);
    },
  };
}

export async function waitForFrontend(
  address: string,
  child?: ChildProcess,
  exited?: Promise<number | null>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let dead = false;
  exited?.then(() => (dead = true));
  while (Date.now() < deadline) {
    if (dead) throw new Error(`temporal dev server exited during startup (pid ${child?.pid})`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await conn.workflowService.getSystemInfo({});
        return;
      } finally {
        await conn.close();
      }
    } catch (e) {
      lastError = e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  child?.kill('SIGKILL');
  throw new Error(`temporal dev server at ${address} did not answer within ${timeoutMs / 1000}s: ${(lastError as Error)?.message}`);
}

export async function stopChild(child: ChildProcess, exited: Promise<number | null>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
