import request from 'supertest';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createBulkConversionActivities } from '../src/activities/bulk-conversion';
import type { AppConfig } from '../src/config/env';
import { JOB_OWNER, JOB_TYPE } from '../src/shared/search-attributes';
import { prefixedQueue } from '../src/shared/task-queues';
import { bulkConversion } from '../src/workflows/bulk-conversion';
import {
  BULK_CONVERSION_QUEUE,
  BulkConversionInput,
  BulkConversionProgress,
  BulkConversionTuning,
} from '../src/workflows/bulk-conversion/contract';
import { auth } from './fixtures/bulk-jobs';
import { startTestSite, TestSite } from './fixtures/test-site';
import { testApp } from './harness/api';
import { KEYS, testClient, testConfig, testDeps } from './harness/temporal';
import { loadWorkflowBundle } from '../src/worker/workers';

// Priority and per-owner fairness on a conversion queue that is backed up: a real dev server
// (started with priority and fairness enabled), a real worker with few activity slots, a real site.

let client: Client;
let site: TestSite;

beforeAll(async () => {
  client = await testClient();
  site = await startTestSite({ latencyMs: 100 });
});
afterAll(async () => {
  await site.close();
  await client.connection.close();
});

/** A conversion worker with `slots` activity slots, so jobs queue up behind each other. */
async function constrainedWorker(config: AppConfig, slots: number): Promise<{ stop(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, BULK_CONVERSION_QUEUE),
    workflowBundle: await loadWorkflowBundle(),
    activities: createBulkConversionActivities(testDeps(config)),
    maxConcurrentActivityTaskExecutions: slots,
    maxHeartbeatThrottleInterval: '1s',
  });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** Starts a job the way the API does (priority key and the owner as fairness key), with tuning the API does not take. */
function startTuned(
  config: AppConfig,
  jobId: string,
  owner: string,
  urls: string[],
  concurrency: number,
  tuning: BulkConversionTuning,
  priority?: number,
): Promise<WorkflowHandle<typeof bulkConversion>> {
  const input: BulkConversionInput = { jobId, owner, format: 'markdown', concurrency, tuning, source: { urls } };
  return client.workflow.start(bulkConversion, {
    workflowId: jobId,
    taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, BULK_CONVERSION_QUEUE),
    args: [input],
    priority: { priorityKey: priority ?? 3, fairnessKey: owner },
    typedSearchAttributes: [
      { key: JOB_TYPE, value: 'bulk-conversion' },
      { key: JOB_OWNER, value: owner },
    ],
  });
}

const pages = (tag: string, n: number) => Array.from({ length: n }, (_, i) => site.url(`/good/${(i % 5) + 1}?${tag}=${i}`));
const progress = (h: WorkflowHandle) => h.query<BulkConversionProgress>('progress');

test('the API carries priority (request or JOB_PRIORITY_<TYPE>) and the owner as fairness key to Temporal; a bad priority is 400', async () => {
  const config = testConfig({ JOB_PRIORITY_BULK_CONVERSION: '4' });
  const app = testApp(config, client);
  const start = (body: Record<string, unknown>) =>
    request(app)
      .post('/api/v1/jobs/bulk-conversions')
      .set(auth(KEYS.alice))
      .send({ urls: [site.url('/good/1')], ...body });
  const explicit = await start({ priority: 1 });
  expect(explicit.status).toBe(202);
  const byDefault = await start({});
  const priorities = await Promise.all(
    [explicit, byDefault].map(async (r) => (await client.workflow.getHandle(r.body.jobId).describe()).raw.workflowExecutionInfo?.priority),
  );
  expect(priorities.map((p) => p?.priorityKey)).toEqual([1, 4]);
  expect(priorities.map((p) => p?.fairnessKey)).toEqual(['alice', 'alice']);
  for (const r of [explicit, byDefault]) await client.workflow.getHandle(r.body.jobId).terminate('test over');

  const bad = await start({ priority: 9 });
  expect(bad.status).toBe(400);
  expect(bad.body.error.fields).toEqual([{ field: 'priority', message: 'must be at most 5 (the lowest priority)' }]);
  expect(() => testConfig({ JOB_PRIORITY_VIDEO_GENERATION: '0' })).toThrow(/JOB_PRIORITY_VIDEO_GENERATION/);
});

test('with the queue backed up by a low-priority job, a high-priority job’s activities run first', async () => {
  const config = testConfig();
  const worker = await constrainedWorker(config, 1);
  try {
    const one = { chunkSize: 1, chunkParallelism: 1 };
    const low = await startTuned(config, `low-${Date.now()}`, 'alice', pages('low', 30), 30, one, 5);
    await waitUntil(async () => (await progress(low)).succeeded >= 1);
    const high = await startTuned(config, `high-${Date.now()}`, 'alice', pages('high', 3), 3, one, 1);
    const result = await high.result();
    const lowAtEnd = await progress(low);
    expect(result.succeeded).toBe(3);
    // Without priority the high job's 3 activities would wait behind the ~29 queued low ones.
    expect(lowAtEnd.succeeded).toBeLessThan(12);
    await low.terminate('test over');
  } finally {
    await worker.stop();
  }
});

// Alice's chunks wait on a slow site (500 ms a page), so every slot is busy with her work and her
// backlog queues up: 20 chunks in flight for 2 slots. Timing is then ruled by waiting, not by CPU.
// Without fairness bob's chunk queues behind her ~18 waiting chunks (~9 rounds of ~1 s); with the
// owner as fairness key the matching service hands it (then its finalize step) the next free slot.
// Owners of their own, so other test files listing alice's or bob's jobs on the shared dev server do not see these.
const ALICE = 'fairness-alice';
const BOB = 'fairness-bob';

test("one owner's 5,000-URL job does not starve another owner's small job on the shared queue", async () => {
  const config = testConfig();
  const slowSite = await startTestSite({ latencyMs: 500 });
  const worker = await constrainedWorker(config, 2);
  const slowPages = (tag: string, n: number) => Array.from({ length: n }, (_, i) => slowSite.url(`/good/${(i % 5) + 1}?${tag}=${i}`));
  try {
    // Bob's job as the API plans it: 20 URLs are one chunk.
    const bobJob = (tag: string) => startTuned(config, `b-${tag}-${Date.now()}`, BOB, slowPages(tag, 20), 20, {});
    let t = Date.now();
    await (await bobJob('alone')).result();
    const alone = Date.now() - t;

    const big = await startTuned(config, `a-big-${Date.now()}`, ALICE, slowPages('big', 5000), 200, {
      chunkSize: 20,
      chunkParallelism: 10,
    });
    // Four of her chunks have finished: her backlog is queued and both slots are hers.
    await waitUntil(async () => (await progress(big)).succeeded >= 80);
    const bigBefore = await progress(big);
    t = Date.now();
    const shared = await (await bobJob('shared')).result();
    const withBig = Date.now() - t;
    const bigAtEnd = await progress(big);
    const aliceRate = (bigAtEnd.succeeded - bigBefore.succeeded) / (withBig / 1000);
    const aliceRemainingMs = ((bigAtEnd.total - bigAtEnd.succeeded - bigAtEnd.failed) / aliceRate) * 1000;
    console.log(
      `fairness: bob's 20-URL job took ${alone} ms alone, ${withBig} ms beside alice's 5,000 URLs ` +
        `(alice at ${bigAtEnd.succeeded + bigAtEnd.failed}/5000, ~${Math.round(aliceRemainingMs / 1000)} s to go)`,
    );
    expect(shared.succeeded).toBe(20);
    // Within a few seconds of alone: bob's chunk and its finalize step each wait for at most one of alice's chunks (~1 s).
    expect(withBig).toBeLessThan(alone + 5_000);
    // Alice's job is far from done: bob did not wait for it to drain.
    expect(bigAtEnd.succeeded + bigAtEnd.failed).toBeLessThan(1_000);
    expect(aliceRemainingMs).toBeGreaterThan(10 * withBig);
    await big.terminate('test over');
  } finally {
    await worker.stop();
    await slowSite.close();
  }
}, 180_000);

async function waitUntil(fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
