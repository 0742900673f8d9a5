import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BulkConversionResult } from '../../src/workflows/bulk-conversion/contract';
import { expectEveryUrlOnce, readResults, retriedActivityStarts, startJobDirect } from '../fixtures/bulk-jobs';
import { GateSite, startGateSite } from '../fixtures/gate-site';
import { KEYS, RunningWorkers, spawnWorkerProcess, startWorkerProcesses, testConfig, waitFor } from '../harness/temporal';
import { ApiReplica, startApiReplica } from './api-replica';
import { processSuite } from '../harness/process-suite';

// Two worker hosts and two API replicas that share nothing but the Temporal cluster and S3.

const auth = { Authorization: `Bearer ${KEYS.alice}` };

const suite = processSuite({ latencyMs: 150 });

test('blob storage is S3 and this is the cluster, not the dev server', async () => {
  expect(testConfig().BLOB_STORE).toBe('s3');
  const info = await suite.client.connection.workflowService.getSystemInfo({});
  expect(info.serverVersion).toBe('1.29.1');
  const { count } = await suite.client.workflow.count('JobType IN ("bulk-conversion", "video-generation")');
  expect(count).toBeGreaterThanOrEqual(0);
});

test('2,000 URLs on two worker hosts; one is SIGKILLed and not restarted; the other finishes with every URL exactly once', async () => {
  const config = testConfig({ CONVERSION_RETRY_INTERVAL: '200ms' });
  const hosts = [0, 1].map((i) => fs.mkdtempSync(path.join(os.tmpdir(), `dj-host${i + 1}-`)));
  const [doomed, survivor] = await Promise.all(
    hosts.map((host) =>
      spawnWorkerProcess(config, { DATA_DIR: path.join(host, 'data'), WORKER_TASK_QUEUES: 'conversion,webhooks' }, { cwd: host }),
    ),
  );
  suite.children.push(doomed, survivor);

  const total = 2_000;
  const urls = Array.from({ length: total }, (_, i) => suite.site.url(`/page/two-hosts-${i}`));
  const jobId = `bulk-two-hosts-${Date.now()}`;
  const handle = await startJobDirect(suite.client, config, jobId, urls, {
    format: 'markdown',
    concurrency: 24,
    tuning: { chunkSize: 100, chunkParallelism: 8, heartbeatTimeout: '4s' },
  });

  // Kill the doomed host once it holds running chunks that have checkpointed progress.
  const doomedIdentity = `${doomed.pid}@`;
  await waitFor(
    async () => {
      const { raw } = await handle.describe();
      return (raw.pendingActivities ?? []).some(
        (a) => a.lastWorkerIdentity?.startsWith(doomedIdentity) && a.heartbeatDetails?.payloads?.length,
      );
    },
    'a checkpointed chunk on the doomed host',
    120_000,
    100,
  );
  doomed.kill('SIGKILL');
  await new Promise((resolve) => doomed.once('exit', resolve));
  expect(doomed.signalCode).toBe('SIGKILL');
  expect((await handle.query<{ succeeded: number }>('progress')).succeeded).toBeLessThan(total);

  const result = (await handle.result()) as BulkConversionResult;
  expect(result).toMatchObject({ status: 'completed', total, succeeded: total, failed: 0 });
  await expectEveryUrlOnce(config, jobId, urls);

  // The chunks the doomed host held were retried, on the survivor (history keeps each
  // activity's last attempt only, so the doomed host's attempts show as retries).
  const retried = await retriedActivityStarts(handle);
  expect(retried.length).toBeGreaterThan(0);
  expect(retried.every((e) => e.activityTaskStartedEventAttributes?.identity?.startsWith(`${survivor.pid}@`))).toBe(true);
  survivor.kill('SIGTERM');
});

describe('two API replicas', () => {
  let workers: RunningWorkers;
  let replicas: ApiReplica[];
  let gate: GateSite;
  const config = () => testConfig();
  let shared: ReturnType<typeof testConfig>;

  beforeAll(async () => {
    shared = config();
    gate = await startGateSite();
    workers = await startWorkerProcesses(shared, 2, ['conversion', 'webhooks']);
    replicas = await Promise.all([startApiReplica(shared), startApiReplica(shared)]);
  });
  afterAll(async () => {
    await Promise.all((replicas ?? []).map((r) => r.stop()));
    await workers?.shutdown();
    await gate?.close();
  });

  const api = async (replica: ApiReplica, method: string, p: string, body?: unknown) => {
    const res = await fetch(`${replica.url}${p}`, {
      method,
      headers: { ...auth, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    const json = res.headers.get('content-type')?.startsWith('application/json')
      ? (JSON.parse(bytes.toString('utf8')) as Record<string, unknown>)
      : undefined;
    return { status: res.status, body: json, bytes };
  };

  test('both serve the same job: status, results and artifact downloads, byte for byte', async () => {
    const [a, b] = replicas;
    const urls = Array.from({ length: 6 }, (_, i) => suite.site.url(`/good/${(i % 5) + 1}?r=${i}`));
    const started = await api(a, 'POST', '/api/v1/jobs/bulk-conversions', { urls, concurrency: 3 });
    expect(started.status).toBe(202);
    const jobId = started.body!.jobId as string;

    const done = await waitFor(
      async () => {
        const s = await api(b, 'GET', `/api/v1/jobs/${jobId}`);
        return s.body?.status !== 'running' ? s.body : undefined;
      },
      'the job to end (seen through replica B)',
      120_000,
      500,
    );
    expect(done).toMatchObject({ jobId, status: 'completed' });
    const viaA = await api(a, 'GET', `/api/v1/jobs/${jobId}`);
    expect(viaA.body).toMatchObject({ jobId, status: 'completed', result: { total: 6, succeeded: 6, failed: 0 } });

    const results = (viaA.body!.result as { results: { downloadUrl: string }[] }).results;
    expect(results).toHaveLength(6);
    for (const file of ['results.jsonl', new URL(results[0].downloadUrl).pathname.replace(/^.*\/files\//, '')]) {
      const fromA = await api(a, 'GET', `/api/v1/jobs/${jobId}/files/${file}`);
      const fromB = await api(b, 'GET', `/api/v1/jobs/${jobId}/files/${file}`);
      expect({ file, a: fromA.status, b: fromB.status }).toEqual({ file, a: 200, b: 200 });
      expect(fromA.bytes.length).toBeGreaterThan(0);
      expect(fromB.bytes.equals(fromA.bytes)).toBe(true);
    }
    // Nothing of the job landed on either replica's disk.
    expect(fs.existsSync(path.join(shared.dataDir, 'blobs', 'jobs', jobId))).toBe(false);
  });

  test('a job started through one replica is cancelled through the other', async () => {
    const [a, b] = replicas;
    const urls = Array.from({ length: 30 }, (_, i) => gate.url(`/held/${i}`));
    const started = await api(a, 'POST', '/api/v1/jobs/bulk-conversions', { urls, concurrency: 3 });
    expect(started.status).toBe(202);
    const jobId = started.body!.jobId as string;
    await waitFor(() => gate.stats().held === 3 || undefined, 'the window to fill with held requests', 60_000);

    const cancel = await api(b, 'POST', `/api/v1/jobs/${jobId}/cancel`);
    expect(cancel.status).toBe(202);
    const end = await waitFor(
      async () => {
        const s = await api(a, 'GET', `/api/v1/jobs/${jobId}`);
        return s.body?.status !== 'running' ? s.body : undefined;
      },
      'the job to end (seen through replica A)',
      60_000,
      300,
    );
    expect(end).toMatchObject({ jobId, status: 'cancelled' });
    const lines = await readResults(shared, jobId);
    expect(lines).toHaveLength(30);
    expect(lines.every((l) => l.status === 'cancelled')).toBe(true);
  });
});
