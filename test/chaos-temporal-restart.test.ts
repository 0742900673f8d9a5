import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BulkConversionResult } from '../src/workflows/bulk-conversion/contract';
import { readResults, startJobDirect } from './fixtures/bulk-jobs';
import { startTestSite, TestSite } from './fixtures/test-site';
import { spawnWorkerProcess, startOwnDevServer, testClient, testConfig, waitFor } from './harness/temporal';

// The Temporal server itself goes away mid-job and comes back on the same SQLite file:
// the worker reconnects, timers and activities resume, and every URL lands exactly once.

let site: TestSite;
let worker: ChildProcess | undefined;
let server: Awaited<ReturnType<typeof startOwnDevServer>> | undefined;

beforeAll(async () => {
  site = await startTestSite({ latencyMs: 100 });
});
afterAll(async () => {
  if (worker && worker.exitCode === null) worker.kill('SIGKILL');
  await server?.stop();
  await site?.close();
});

test('a restarted Temporal dev server loses no work and duplicates none', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-restart-'));
  server = await startOwnDevServer(path.join(dir, 'temporal.db'));
  const config = testConfig({ TEMPORAL_ADDRESS: server.address });
  worker = await spawnWorkerProcess(config);
  const client = await testClient(config);

  const total = 600;
  const urls = Array.from({ length: total }, (_, i) => site.url(`/page/restart-${i}`));
  const jobId = `bulk-restart-${Date.now()}`;
  const handle = await startJobDirect(client, config, jobId, urls, {
    format: 'markdown',
    concurrency: 20,
    tuning: { chunkSize: 100, chunkParallelism: 10, heartbeatTimeout: '5s' },
  });

  // Restart while the job is well under way but far from done.
  const before = await waitFor(
    async () => {
      const p = await handle.query<{ succeeded: number }>('progress');
      return p.succeeded >= 100 ? p : undefined;
    },
    'the job to be under way',
    120_000,
    100,
  );
  expect(before.succeeded).toBeLessThan(total / 2);
  await server.restart(2000);

  const result = await waitFor(
    async () => {
      const d = await handle.describe();
      return d.status.name === 'COMPLETED' ? ((await handle.result()) as BulkConversionResult) : undefined;
    },
    'the job to finish after the restart',
    180_000,
    500,
  );
  expect(worker.exitCode).toBeNull(); // the worker rode out the outage
  expect(result.status).toBe('completed');
  expect(result.succeeded).toBe(total);

  const results = await readResults(config, jobId);
  expect(results).toHaveLength(total);
  expect(new Set(results.map((r) => r.index)).size).toBe(total);
  expect(results.every((r) => r.status === 'success')).toBe(true);
  await client.connection.close();
}, 400_000);
