import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/start/provision-cli';
import { freePort } from './harness/ports';
import { testAddress, uniquePrefix, waitFor } from './harness/temporal';
import { processAlive } from './harness/process-suite';

// `npm start` as a user runs it: everything comes up, answers, and stops cleanly on Ctrl-C.

interface Started {
  child: ChildProcess;
  output: () => string;
  pids: Record<string, number | undefined>;
  apiKey?: string;
}

async function startSupervisor(env: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/start/main.ts')], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in time:\n${out}`)), 150_000);
    const check = setInterval(() => {
      if (out.includes('durable-jobs is ready')) {
        clearInterval(check);
        clearTimeout(timer);
        resolve();
      }
    }, 100);
    child.once('exit', (code) => {
      clearInterval(check);
      clearTimeout(timer);
      reject(new Error(`supervisor exited with ${code}:\n${out}`));
    });
  });
  const pids = JSON.parse(/pids: (\{.*\})/.exec(out)![1]);
  const apiKey = /API key\s+(dj_\S+)/.exec(out)?.[1];
  return { child, output: () => out, pids, apiKey };
}

async function stopWithSigint(s: Started): Promise<{ code: number | null; seconds: number }> {
  const t0 = Date.now();
  const exited = new Promise<number | null>((r) => s.child.once('exit', (code) => r(code)));
  s.child.kill('SIGINT');
  const code = await exited;
  return { code, seconds: (Date.now() - t0) / 1000 };
}

interface JobView {
  status: string;
  progress?: { phase: string };
  /** A video's file, or a conversion's per-URL results. */
  result?: { downloadUrl?: string; results?: { status: string; downloadUrl?: string }[] };
}

/** The jobs API of a started supervisor, as a client uses it. */
function jobsApi(port: number, apiKey: string | undefined) {
  const auth = { Authorization: `Bearer ${apiKey}` };
  const get = async (id: string) =>
    (await (await fetch(`http://127.0.0.1:${port}/api/v1/jobs/${id}`, { headers: auth })).json()) as JobView;
  return {
    auth,
    get,
    async start(route: string, body: unknown): Promise<string> {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/jobs/${route}`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { jobId: string }).jobId;
    },
    reached: (id: string, phase: string) =>
      waitFor(async () => (await get(id)).progress?.phase === phase, `the job to reach ${phase}`, 60_000),
    ended: (id: string) =>
      waitFor(
        async () => {
          const j = await get(id);
          return j.status !== 'running' && j;
        },
        'the job to end',
        60_000,
      ),
  };
}

/** One HTML page on loopback, as a site the worker converts. */
async function servePage(html: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/tides`, close: () => new Promise((r) => server.close(() => r())) };
}

function baseEnv(dataDir: string, port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' };
  for (const k of ['TEMPORAL_ADDRESS', 'API_KEYS', 'WEBHOOK_SECRET', 'NODE_ENV', 'EMULATOR_URL']) delete env[k];
  env.EMULATOR_PORT = '0';
  return env;
}

describe('npm start supervisor', () => {
  test('with zero configuration: dev server + worker + API come up, ready, run a job from the compiled build, and Ctrl-C stops all three', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-start-'));
    const [port, temporalPort, uiPort, emulatorPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const page = await servePage(
      '<html><head><title>Tide tables</title></head><body><article><h1>Tide tables</h1><p>High water at noon, low water at six.</p></article></body></html>',
    );
    const s = await startSupervisor({
      ...baseEnv(dataDir, port),
      TEMPORAL_DEV_SERVER_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(uiPort),
      TEMPORAL_DB_FILE: path.join(dataDir, 'temporal.db'),
      EMULATOR_PORT: String(emulatorPort),
      OUTBOUND_ALLOW_HOSTS: '127.0.0.1', // the test's page server
    });
    try {
      // The worker and the API run as compiled JavaScript, not through tsx.
      expect(s.output()).toMatch(/(compiled|reusing) the worker and API build in dist\/[0-9a-f]{16}/);
      for (const name of ['worker', 'api']) {
        const argv = fs.readFileSync(`/proc/${s.pids[name]}/cmdline`, 'utf8').split('\0');
        expect(argv.find((a) => a.endsWith('.js'))).toMatch(new RegExp(`/dist/[0-9a-f]{16}/src/${name}/main\\.js$`));
        expect(argv.join(' ')).not.toContain('tsx');
      }

      expect(s.pids.temporal && s.pids.worker && s.pids.api).toBeTruthy();
      expect(s.apiKey).toBeDefined();
      expect(fs.readFileSync(path.join(dataDir, 'dev-api-key'), 'utf8').trim()).toBe(s.apiKey);

      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(ready.status).toBe(200);
      const ui = await fetch(`http://127.0.0.1:${uiPort}/api/v1/namespaces/default/search-attributes`);
      const attrs = (await ui.json()) as { customAttributes: Record<string, string> };
      expect(Object.keys(attrs.customAttributes)).toEqual(expect.arrayContaining(['JobType', 'JobOwner', 'JobOutcome']));
      const list = await fetch(`http://127.0.0.1:${port}/api/v1/jobs`, { headers: { Authorization: `Bearer ${s.apiKey}` } });
      expect(list.status).toBe(200);
      expect(s.output()).toContain(`Video emulator http://127.0.0.1:${emulatorPort}`);
      const emulator = await fetch(`http://127.0.0.1:${emulatorPort}/_emulator/stats`);
      expect(emulator.status).toBe(200);
      const admin = await fetch(`http://127.0.0.1:${port}/api/admin/queues`, { headers: { Authorization: `Bearer ${s.apiKey}` } });
      expect(admin.status).toBe(200);

      // A conversion end to end: the compiled workflows, activities and conversion thread.
      const jobs = jobsApi(port, s.apiKey);
      const job = await jobs.ended(await jobs.start('bulk-conversions', { urls: [page.url], format: 'markdown' }));
      expect(job.status).toBe('completed');
      const artifact = await fetch(job.result!.results![0].downloadUrl!, { headers: jobs.auth });
      expect(artifact.status).toBe(200);
      expect(await artifact.text()).toContain('High water at noon, low water at six.');
    } finally {
      await page.close();
      const { code, seconds } = await stopWithSigint(s);
      expect(code).toBe(0);
      expect(seconds).toBeLessThan(30);
      for (const pid of Object.values(s.pids)) if (pid) expect(processAlive(pid)).toBe(false);
    }
    expect(fs.existsSync(path.join(dataDir, 'temporal.db'))).toBe(true);
  }, 200_000);

  test('with TEMPORAL_ADDRESS set it starts no server, only the worker and the API, and reuses the stored key', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-start-'));
    fs.writeFileSync(path.join(dataDir, 'dev-api-key'), 'dj_existing-key-from-an-earlier-run\n');
    const port = await freePort();
    const s = await startSupervisor({ ...baseEnv(dataDir, port), TEMPORAL_ADDRESS: testAddress(), TASK_QUEUE_PREFIX: uniquePrefix('sup') });
    try {
      expect(s.pids.temporal).toBeUndefined();
      expect(s.apiKey).toBe('dj_existing-key-from-an-earlier-run');
      expect(s.output()).toContain('not starting one');
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(ready.status).toBe(200);
    } finally {
      const { code } = await stopWithSigint(s);
      expect(code).toBe(0);
      for (const pid of Object.values(s.pids)) if (pid) expect(processAlive(pid)).toBe(false);
    }
  }, 200_000);

  test('a worker killed with SIGKILL is started again and the running job completes on the new one', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-start-'));
    const port = await freePort();
    const s = await startSupervisor({
      ...baseEnv(dataDir, port),
      TEMPORAL_ADDRESS: testAddress(),
      TASK_QUEUE_PREFIX: uniquePrefix('sup'),
      EMULATOR_GENERATION_TIME: '8s',
    });
    const jobs = jobsApi(port, s.apiKey);
    const firstWorker = s.pids.worker!;
    try {
      const jobId = await jobs.start('video-generations', { prompt: 'a lighthouse at dawn', seconds: 4 });
      await jobs.reached(jobId, 'generating');

      process.kill(firstWorker, 'SIGKILL');
      const restarted = await waitFor(() => /worker started again: pid (\d+)/.exec(s.output())?.[1], 'the worker to start again', 20_000);
      expect(s.output()).toContain('worker was killed by SIGKILL; starting it again in 1 s');
      const secondWorker = Number(restarted);
      expect(secondWorker).not.toBe(firstWorker);
      expect(processAlive(secondWorker)).toBe(true);

      const done = await jobs.ended(jobId);
      expect(done.status).toBe('completed');
      const video = Buffer.from(await (await fetch(done.result!.downloadUrl!, { headers: jobs.auth })).arrayBuffer());
      expect(video.subarray(4, 8).toString('latin1')).toBe('ftyp'); // an MP4 file
      expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);

      const { code } = await stopWithSigint(s);
      expect(code).toBe(0);
      expect(processAlive(secondWorker)).toBe(false);
    } finally {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
    }
  }, 200_000);

  // The emulators stand in for services that never restart: a job waiting on one goes on across a restart of `npm start`.
  test.each([
    {
      job: 'a video generation',
      route: 'video-generations',
      body: () => ({ prompt: 'a harbour at night', seconds: 4 }),
      phase: 'generating',
      env: { EMULATOR_GENERATION_TIME: '10s' },
    },
    {
      job: 'a publishing build',
      route: 'publishing-builds',
      body: (dataDir: string) => ({
        projectId: 'sample',
        platform: 'ios',
        source: { git: `file://${path.join(dataDir, 'sample-app')}` },
        version: '1.0.0',
        buildNumber: 1,
      }),
      phase: 'processing',
      env: {
        STORE_EMULATOR_PROCESSING_TIME: '10s',
        STORE_EMULATOR_REVIEW_TIME: '3s',
        STORE_POLL_INTERVAL: '1s',
        STORE_POLL_MAX_INTERVAL: '2s',
        REVIEW_POLL_INTERVAL: '1s',
        REVIEW_POLL_MAX_INTERVAL: '2s',
      },
    },
  ])(
    '$job waiting on its emulator when npm start is stopped completes after the next start',
    async ({ route, body, phase, env: jobEnv }) => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-start-'));
      const port = await freePort();
      const env = { ...baseEnv(dataDir, port), TEMPORAL_ADDRESS: testAddress(), TASK_QUEUE_PREFIX: uniquePrefix('sup'), ...jobEnv };
      const first = await startSupervisor(env);
      const jobs = jobsApi(port, first.apiKey);
      let jobId: string;
      try {
        jobId = await jobs.start(route, body(dataDir));
        await jobs.reached(jobId, phase);
      } finally {
        expect((await stopWithSigint(first)).code).toBe(0);
      }
      const second = await startSupervisor(env);
      try {
        expect(await jobs.ended(jobId)).toMatchObject({ status: 'completed' });
      } finally {
        expect((await stopWithSigint(second)).code).toBe(0);
      }
    },
    200_000,
  );

  test('a second start on a taken port says which port; SIGKILL of the supervisor takes its children down with it', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-start-'));
    const port = await freePort();
    const env = { ...baseEnv(dataDir, port), TEMPORAL_ADDRESS: testAddress(), TASK_QUEUE_PREFIX: uniquePrefix('sup') };
    const s = await startSupervisor(env);

    const second = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/start/main.ts')], {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    second.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    second.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    expect(await new Promise<number | null>((r) => second.once('exit', r))).toBe(1);
    expect(out).toContain(`port ${port} (PORT, the API) is already in use`);

    s.child.kill('SIGKILL');
    const children = Object.values(s.pids).filter((p): p is number => !!p);
    expect(children.length).toBeGreaterThanOrEqual(2);
    const deadline = Date.now() + 20_000;
    while (children.some(processAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(children.filter(processAlive)).toEqual([]);
  }, 200_000);

  test('a bad configuration value stops startup with a message naming the variable', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-start-'));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/api/main.ts')], {
      cwd: PROJECT_ROOT,
      env: { ...baseEnv(dataDir, 1), PORT: 'not-a-port', WEBHOOK_RETRY_SCHEDULE: '5s,soon' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(err).toMatch(/PORT:/);
    expect(err).toMatch(/WEBHOOK_RETRY_SCHEDULE: "soon" is not a duration/);
  }, 60_000);
});
