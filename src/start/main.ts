import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { loadConfigOrExit } from '../config/env';
import { DEV_OWNER, ensureDevSecrets } from '../config/dev-secrets';
import { RunningDevServer, startDevServer } from './dev-server';
import { PROJECT_ROOT, provisionTemporalCli } from './provision-cli';
import { buildRuntime, builtEntry } from './runtime-build';
import { startReaper, SupervisedProcess, superviseEntryPoint, waitForHttpOk, WORKER_NODE_ARGS, workerEnv } from './supervisor';
import type { LocalRun } from '../worker/job-definition';
import { JOBS } from '../worker/job-registry';

// `npm start`: the whole system on one machine with zero configuration —
// Temporal dev server (unless TEMPORAL_ADDRESS is set), worker and API — and a clean stop on Ctrl-C.

const say = (msg: string) => process.stdout.write(`[start] ${msg}\n`);
const STOP_BUDGET_MS = 30_000;

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A port another process holds would fail a child later with a less helpful message: say it now. */
async function refuseTakenPorts(apiPort: number, uiPort: number | undefined): Promise<void> {
  const taken: string[] = [];
  if (apiPort && (await portInUse(apiPort))) taken.push(`port ${apiPort} (PORT, the API)`);
  if (uiPort && (await portInUse(uiPort))) taken.push(`port ${uiPort} (TEMPORAL_UI_PORT, the Temporal Web UI)`);
  if (taken.length) {
    throw new Error(
      `${taken.join(' and ')} ${taken.length > 1 ? 'are' : 'is'} already in use — is an earlier \`npm start\` still running? Stop it, or choose other ports.`,
    );
  }
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const env: NodeJS.ProcessEnv = { ...process.env };
  const secrets = ensureDevSecrets(config.dataDir);
  if (!config.API_KEYS) env.API_KEYS = `${DEV_OWNER}:admin:${secrets.apiKey}`;
  if (!config.WEBHOOK_SECRET) env.WEBHOOK_SECRET = secrets.webhookSecret;
  env.DATA_DIR = config.dataDir;

  let server: RunningDevServer | undefined;
  const localRuns: LocalRun[] = [];
  const children: SupervisedProcess[] = [];
  let stopping = false;

  const stopAll = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    say(`stopping (${reason})…`);
    const hardStop = setTimeout(() => {
      for (const c of children) c.child.kill('SIGKILL');
      if (server?.pid) process.kill(server.pid, 'SIGKILL');
      process.exit(code || 1);
    }, STOP_BUDGET_MS).unref();
    // API first (no new jobs), then the worker (drains in-flight activities), then Temporal.
    const api = children.find((c) => c.name === 'api');
    if (api) await api.stop(5_000);
    await Promise.all(children.filter((c) => c.name !== 'api').map((c) => c.stop(STOP_BUDGET_MS - 8_000)));
    await Promise.all(localRuns.map((r) => r.close().catch(() => undefined)));
    if (server) await server.stop();
    clearTimeout(hardStop);
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll('SIGINT', 0));
  process.on('SIGTERM', () => void stopAll('SIGTERM', 0));

  const reaper = startReaper();
  try {
    const t0 = Date.now();
    // Compiling (~2 s when the sources changed, a hash check when not) overlaps the dev server's start.
    const building = buildRuntime().then((b) => {
      say(`${b.built ? 'compiled' : 'reusing'} the worker and API build in ${path.relative(PROJECT_ROOT, b.dir)} (${Date.now() - t0} ms)`);
      return b;
    });
    building.catch(() => undefined); // awaited below; a failure stops the start there
    let uiUrl = config.TEMPORAL_UI_URL;
    await refuseTakenPorts(config.PORT, process.env.TEMPORAL_ADDRESS ? undefined : config.TEMPORAL_UI_PORT);
    if (process.env.TEMPORAL_ADDRESS) {
      say(`using the Temporal server at ${config.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS is set; not starting one)`);
    } else {
      const port = config.TEMPORAL_DEV_SERVER_PORT;
      if (await portInUse(port)) {
        throw new Error(
          `port ${port} is already in use. Stop whatever runs there, or set TEMPORAL_ADDRESS=localhost:${port} to use that server.`,
        );
      }
      const cli = provisionTemporalCli(say);
      const dbFile = path.resolve(PROJECT_ROOT, config.TEMPORAL_DB_FILE);
      say(`starting the Temporal dev server on :${port} (UI :${config.TEMPORAL_UI_PORT}, data in ${path.relative(PROJECT_ROOT, dbFile)})…`);
      server = await startDevServer(cli, {
        port,
        uiPort: config.TEMPORAL_UI_PORT,
        dbFile,
        stdio: 'ignore',
        logLevel: 'error',
        retentionMs: config.JOB_RETENTION,
      });
      reaper.watch(server.pid);
      env.TEMPORAL_ADDRESS = server.address;
      uiUrl = server.uiUrl ?? uiUrl;
      env.TEMPORAL_UI_URL = uiUrl;
      server.exited.then((code) => void stopAll(`Temporal dev server exited with ${code}`, 1));
    }

    // What each job type runs locally with no configuration (provider and store emulators, a sample app).
    const apiUrl = `http://localhost:${config.PORT}`;
    const apiKey = config.API_KEYS ? '<key>' : secrets.apiKey;
    const freePortOr = async (port: number) => ((await portInUse(port)) ? 0 : port);
    for (const job of JOBS) {
      const run = await job.worker.localRun?.(config, { say, freePortOr, apiUrl, apiKey });
      if (!run) continue;
      localRuns.push(run);
      Object.assign(env, run.env);
    }

    const runtime = await building;
    const supervised = { say, onStart: (child: ChildProcess) => reaper.watch(child.pid), onGiveUp: (why: string) => void stopAll(why, 1) };
    const workerEnvWithBundle = workerEnv({ WORKFLOW_BUNDLE_PATH: runtime.workflowBundlePath, ...env });
    children.push(
      superviseEntryPoint({
        name: 'worker',
        file: builtEntry(runtime, 'src/worker/main.ts'),
        env: workerEnvWithBundle,
        nodeArgs: WORKER_NODE_ARGS,
        ...supervised,
      }),
    );
    children.push(superviseEntryPoint({ name: 'api', file: builtEntry(runtime, 'src/api/main.ts'), env, ...supervised }));
    say(`pids: ${JSON.stringify({ temporal: server?.pid, worker: children[0].child.pid, api: children[1].child.pid })}`);

    await waitForHttpOk(`${apiUrl}/health/ready`, 180_000, () => !stopping);
    const key = config.API_KEYS ? '(from API_KEYS)' : secrets.apiKey;
    process.stdout.write(
      [
        '',
        '  durable-jobs is ready',
        `  API          ${config.publicUrl}   (health: ${apiUrl}/health/ready)`,
        `  Temporal UI  ${uiUrl}`,
        ...localRuns.flatMap((r) => r.services.map((line) => `  ${line}`)),
        `  API key      ${key}   (owner "${DEV_OWNER}", admin; stored in ${path.relative(PROJECT_ROOT, config.dataDir) || '.'}/dev-api-key)`,
        `  Webhook key  ${config.WEBHOOK_SECRET ? '(from WEBHOOK_SECRET)' : secrets.webhookSecret}   (signs webhooks; stored in ${path.relative(PROJECT_ROOT, config.dataDir) || '.'}/webhook-secret)`,
        `  try:  curl -H "Authorization: Bearer ${apiKey}" ${apiUrl}/api/v1/jobs`,
        ...localRuns.flatMap((r) => r.examples.map((line) => `  ${line}`)),
        '  Ctrl-C stops everything.',
        '',
      ].join('\n') + '\n',
    );
  } catch (e) {
    console.error(`[start] ${(e as Error).message}`);
    await stopAll('startup failed', 1);
  }
}

void main();
