import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { freePorts } from '../start/free-port';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { RunningPostgres, startPostgres } from './postgres';
import { setupSchemas } from './schema';
import { dynamicConfigYaml, serverConfigYaml, SERVICES, ServiceName } from './server-config';
import { loadConfig } from '../config/env';
import { prefixedQueue } from '../shared/task-queues';
import { rateLimitedQueues } from '../worker/job-registry';
import { provisionServerBinaries } from './server-binaries';
import { serviceHealthy, ServiceProcess, startService, stopServices } from './services';

// A real Temporal cluster on this host: PostgreSQL, schemas, the four services as separate
// processes, the namespace and our search attributes — all in a throwaway directory.

export interface ClusterOptions {
  historyShards?: number;
  namespace?: string;
  /** Server log level (debug, info, warn, error). */
  logLevel?: string;
  log?: (msg: string) => void;
}

export interface RunningCluster {
  address: string;
  namespace: string;
  dir: string;
  historyShards: number;
  pids: Record<ServiceName | 'postgres', number>;
  /** Resolves with a description when any process of the cluster exits on its own. */
  died: Promise<string>;
  stop(): Promise<void>;
}

const ENV_NAME = 'cluster';
// The membership table keeps ports in a SMALLINT column.
const MAX_MEMBERSHIP_PORT = 32_767;

export async function startCluster(o: ClusterOptions = {}): Promise<RunningCluster> {
  const log = o.log ?? (() => undefined);
  const historyShards = o.historyShards ?? 8;
  const namespace = o.namespace ?? 'default';
  const bins = provisionServerBinaries(log);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-cluster-'));
  fs.chmodSync(dir, 0o755);
  let pg: RunningPostgres | undefined;
  const services: ServiceProcess[] = [];
  let stopping = false;
  // Whatever ends this process ends the cluster with it (no orphaned servers).
  const killOnExit = () => {
    for (const s of services) s.child.kill('SIGKILL');
    if (pg) process.kill(pg.pid, 'SIGKILL');
  };
  process.once('exit', killOnExit);
  const stop = async () => {
    stopping = true;
    await stopServices(services, 15_000);
    await pg?.stop();
    process.removeListener('exit', killOnExit);
  };

  try {
    const [pgPort, frontendHttp, ...rest] = await freePorts(2 + SERVICES.length * 2, { below: MAX_MEMBERSHIP_PORT });
    const ports = { frontendHttp } as Parameters<typeof serverConfigYaml>[0]['ports'];
    SERVICES.forEach((s, i) => (ports[s] = { grpc: rest[2 * i], membership: rest[2 * i + 1] }));

    log(`PostgreSQL on :${pgPort} (data in ${dir}/postgres)…`);
    pg = await startPostgres({ dir: path.join(dir, 'postgres'), port: pgPort });
    setupSchemas(bins.sqlTool, pg);

    const configDir = path.join(dir, 'config');
    fs.mkdirSync(configDir, { recursive: true });
    const dynamicConfigPath = path.join(configDir, 'dynamic.yaml');
    const config = loadConfig();
    const strictQueues = rateLimitedQueues(config).map((q) => prefixedQueue(config.TASK_QUEUE_PREFIX, q));
    fs.writeFileSync(dynamicConfigPath, dynamicConfigYaml(strictQueues));
    fs.writeFileSync(
      path.join(configDir, `${ENV_NAME}.yaml`),
      serverConfigYaml({ historyShards, postgres: pg, ports, dynamicConfigPath, logLevel: o.logLevel ?? 'warn' }),
      { mode: 0o600 },
    );

    log(`Temporal ${SERVICES.join(', ')} (${historyShards} history shards)…`);
    let deadReason: string | undefined;
    const died = new Promise<string>((resolve) => {
      void pg!.exited.then((code) => resolve(`postgres exited with ${code}`));
      const launch = (name: ServiceName) => {
        const s = startService({ serverBin: bins.server, root: dir, env: ENV_NAME, name });
        services.push(s);
        void s.exited.then((code) => resolve(`temporal ${s.name} exited with ${code} (log: ${s.logFile})`));
      };
      // History first: every service writes the cluster metadata on its first start, and
      // concurrent first writers fail each other.
      launch('history');
      void waitUntil(
        () => serviceHealthy('history', ports.history.grpc),
        'history',
        120_000,
        () => deadReason,
      ).then(
        () => SERVICES.filter((s) => s !== 'history').forEach(launch),
        () => undefined,
      );
    });
    void died.then((reason) => (deadReason = stopping ? undefined : reason));
    const fatal = () => deadReason;

    const address = `127.0.0.1:${ports.frontend.grpc}`;
    await waitUntil(
      async () => {
        for (const s of ['history', 'matching', 'frontend'] as const) if (!(await serviceHealthy(s, ports[s].grpc))) return false;
        return true;
      },
      'services healthy',
      120_000,
      fatal,
    );

    const connection = await Connection.connect({ address });
    try {
      const client = new Client({ connection, namespace });
      await registerNamespace(client, namespace);
      await waitUntil(
        async () => await ensureSearchAttributes(client, namespace).then(() => true),
        'search attributes registered',
        60_000,
        fatal,
      );
      // The frontend's namespace cache and the visibility store both answer: a real query with our attributes.
      await waitUntil(
        async () => (await client.workflow.count(`JobType IN ("bulk-conversion", "video-generation") AND JobOwner = "probe"`), true),
        'visibility query with search attributes',
        60_000,
        fatal,
      );
      // The worker service has no gRPC health endpoint; it is up for us once its per-namespace
      // worker (schedules, batch operations) polls in our namespace.
      await waitUntil(
        async () => {
          const res = await client.connection.workflowService.describeTaskQueue({
            namespace,
            taskQueue: { name: 'temporal-sys-per-ns-tq' },
            taskQueueType: 1,
          });
          return (res.pollers ?? []).length > 0;
        },
        'the worker service to poll in the namespace',
        90_000,
        fatal,
      );
    } finally {
      await connection.close();
    }
    const pids = Object.fromEntries([...services.map((s) => [s.name, s.child.pid!]), ['postgres', pg.pid]]) as RunningCluster['pids'];
    return {
      address,
      namespace,
      dir,
      historyShards,
      pids,
      died,
      stop: async () => {
        await stop();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n(cluster directory kept for its logs: ${dir})`);
  }
}

async function registerNamespace(client: Client, namespace: string): Promise<void> {
  try {
    await client.connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('3 days') });
  } catch (e) {
    if (!/already exists/i.test((e as Error).message)) throw e;
  }
}

/** Polls `check` until true; stops at once when `fatal` names a reason (a process died). */
async function waitUntil(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs: number,
  fatal: () => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const reason = fatal();
    if (reason) throw new Error(reason);
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
