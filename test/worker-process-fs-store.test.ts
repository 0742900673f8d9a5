import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Client } from '@temporalio/client';
import type { BulkConversionResult } from '../src/workflows/bulk-conversion/contract';
import { readResults, startJobDirect } from './fixtures/bulk-jobs';
import { startTestSite, TestSite } from './fixtures/test-site';
import { spawnWorkerProcess, testClient, testConfig } from './harness/temporal';

// The worker entry point in a process of its own on the fs blob store (`npm run worker` on one
// host): it runs the conversion activities, and every artifact it writes is on disk, once.

let client: Client;
let site: TestSite;
let worker: ChildProcess;
const config = testConfig({ BLOB_STORE: 'fs' });

beforeAll(async () => {
  client = await testClient();
  site = await startTestSite();
  worker = await spawnWorkerProcess(config, { WORKER_TASK_QUEUES: 'conversion' });
}, 120_000);
afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
  }
  await site?.close();
  await client?.connection.close();
});

test('a worker process on the fs store converts an inline list and a stored manifest; every artifact is on disk', async () => {
  const inline = Array.from({ length: 40 }, (_, i) => site.url(`/page/fs-inline-${i}`));
  const stored = Array.from({ length: 1_100 }, (_, i) => site.url(`/page/fs-stored-${i}`));
  const stamp = Date.now();
  const [small, large] = await Promise.all([
    startJobDirect(client, config, `bulk-fs-process-inline-${stamp}`, inline, { format: 'h5p', concurrency: 20 }),
    startJobDirect(client, config, `bulk-fs-process-manifest-${stamp}`, stored, { format: 'markdown', concurrency: 100 }),
  ]);

  for (const [handle, urls] of [
    [small, inline],
    [large, stored],
  ] as const) {
    const result = (await handle.result()) as BulkConversionResult;
    expect({ status: result.status, total: result.total, succeeded: result.succeeded }).toEqual({
      status: 'completed',
      total: urls.length,
      succeeded: urls.length,
    });
    const results = await readResults(config, handle.workflowId);
    expect(results.map((r) => r.url)).toEqual(urls);
    const artifacts = results.map((r) => path.join(config.dataDir, 'blobs', 'jobs', handle.workflowId, r.artifactPath!));
    expect(new Set(artifacts).size).toBe(urls.length);
    expect(artifacts.filter((f) => !fs.existsSync(f) || fs.statSync(f).size === 0)).toEqual([]);
  }
}, 300_000);
