import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { replayJobMetricsSinks } from '../src/worker/job-metrics';
import { retryFailedSignal } from '../src/workflows/bulk-conversion/contract';
import { createBlobStore } from '../src/storage';
import { prefixedQueue } from '../src/shared/task-queues';
import { startJobDirect } from './fixtures/bulk-jobs';
import { startTestSite } from './fixtures/test-site';
import { startVideoStack, startVideoJob, waitForVideoJobEnd, auth as videoAuth } from './fixtures/video-jobs';
import { startWebhookReceiver } from './fixtures/webhook-receiver';
import { KEYS, startWorkers, testAddress, testClient, testConfig, waitFor } from './harness/temporal';
import { videoGeneration, videoSlots } from '../src/workflows/video-generation';
import { webhookDelivery } from '../src/workflows/webhook-delivery';
import { storageCleanup } from '../src/workflows/storage-cleanup';
import { bulkConversion } from '../src/workflows/bulk-conversion';
import { VIDEO_QUEUES } from '../src/workflows/video-generation/contract';
import { STORAGE_CLEANUP_QUEUE } from '../src/workflows/storage-cleanup/contract';

// Workflow changes must stay compatible with histories already running in production
// (use patched() when they cannot). These histories were recorded from real runs; replaying
// them against the current workflow code fails on any non-determinism.
// Re-record (only for intended, compatible changes): RECORD_HISTORIES=1 npx jest test/replay-histories.test.ts

const DIR = path.join(__dirname, 'histories');
const RECORD = Boolean(process.env.RECORD_HISTORIES);

async function save(name: string, handle: WorkflowHandle, runId?: string): Promise<void> {
  // The CLI's JSON is the format `temporal workflow show --output json` gives operators too.
  const args = ['workflow', 'show', '--address', testAddress(), '--workflow-id', handle.workflowId, '--output', 'json'];
  if (runId) args.push('--run-id', runId);
  const json = execFileSync(process.env.TEMPORAL_CLI_PATH_RESOLVED || 'temporal', args, { maxBuffer: 64 * 1024 * 1024 }).toString();
  historyFromJSON(JSON.parse(json)); // must parse as a history
  fs.writeFileSync(path.join(DIR, `${name}.json`), json);
}

async function completed(handle: WorkflowHandle, timeoutMs = 120_000): Promise<void> {
  await waitFor(async () => (await handle.describe()).status.name !== 'RUNNING', `${handle.workflowId} to close`, timeoutMs, 300);
}

/** RECORD_HISTORIES=1 records every group; RECORD_HISTORIES=<group> just that one (bulk, bulk-small, bulk-manifest, video, cleanup). */
const recording = (group: string) => RECORD && (process.env.RECORD_HISTORIES === '1' || process.env.RECORD_HISTORIES === group);

async function recordAll(client: Client): Promise<void> {
  fs.mkdirSync(DIR, { recursive: true });
  if (recording('bulk')) await recordBulkAndWebhooks(client);
  if (recording('bulk-small')) await recordSmallBulk(client);
  if (recording('bulk-manifest')) await recordManifestBulk(client);
  if (recording('video')) await recordVideo(client);
  if (recording('cleanup')) await recordCleanup(client);
}

async function recordCleanup(client: Client): Promise<void> {
  const config = testConfig();
  const store = createBlobStore(config);
  await store.put('jobs/old-job/artifacts/000000.md', '# old');
  const old = new Date(Date.now() - 40 * 86_400_000);
  fs.utimesSync(path.join(config.dataDir, 'blobs', 'jobs', 'old-job', 'artifacts', '000000.md'), old, old);
  await store.put('jobs/new-job/artifacts/000000.md', '# new');
  const workers = await startWorkers(config, { queues: ['maintenance'] });
  try {
    const handle = await client.workflow.start(storageCleanup, {
      workflowId: `storage-cleanup-replay-${Date.now()}`,
      taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, STORAGE_CLEANUP_QUEUE),
      args: [{ retentionMs: 30 * 86_400_000 }],
    });
    await handle.result();
    await save('storage-cleanup', handle);
  } finally {
    await workers.shutdown();
  }
}

async function recordBulkAndWebhooks(client: Client): Promise<void> {
  const site = await startTestSite({ latencyMs: 20 });
  const receiver = await startWebhookReceiver({ respond: (_req, i) => ({ status: i < 2 ? 503 : 204 }) });
  const config = testConfig({ WEBHOOK_RETRY_SCHEDULE: '0s,500ms,500ms,1s' });
  const workers = await startWorkers(config, { queues: ['conversion', 'webhooks'] });
  try {
    // Bulk: failures, continue-as-new, retryFailed after the site is fixed, webhook child.
    site.setBroken('/page/replay-broken', true);
    const urls = [...Array.from({ length: 8 }, (_, i) => site.url(`/page/replay-${i}`)), site.url('/page/replay-broken'), site.url('/404')];
    site.setLatencyMs(300);
    const bulk = await startJobDirect(client, config, `bulk-replay-${Date.now()}`, urls, {
      concurrency: 4,
      webhookUrl: receiver.url('/hook'),
      tuning: { chunkSize: 2, chunkParallelism: 2, chunksPerRun: 3 },
    });
    await waitFor(async () => (await bulk.query<{ failed: number }>('progress')).failed >= 1, 'a failed URL', 60_000, 100);
    site.setBroken('/page/replay-broken', false);
    await bulk.signal(retryFailedSignal);
    site.setLatencyMs(20);
    await bulk.result();
    await save('bulk-conversion-first-run', bulk, bulk.firstExecutionRunId);
    await save('bulk-conversion-last-run', bulk);

    // Bulk, cancelled mid-way.
    site.setLatencyMs(500);
    const cancelled = await startJobDirect(client, config, `bulk-replay-cancel-${Date.now()}`, urls.slice(0, 8), {
      concurrency: 2,
      tuning: { chunkSize: 2, chunkParallelism: 1 },
    });
    await waitFor(async () => (await cancelled.query<{ succeeded: number }>('progress')).succeeded >= 1, 'some progress', 60_000, 100);
    await cancelled.cancel();
    await completed(cancelled);
    await save('bulk-conversion-cancelled', cancelled);

    // Webhook delivery with two failed attempts (the job's webhook child).
    const delivery = client.workflow.getHandle(`webhook-${bulk.workflowId}`);
    await completed(delivery);
    await save('webhook-delivery-retried', delivery);
  } finally {
    await workers.shutdown();
    await receiver.close();
    await site.close();
  }
}

async function recordSmallBulk(client: Client): Promise<void> {
  // A one-URL job: its finalize runs as a local activity (patch local-finalize-small-jobs).
  const site = await startTestSite({ latencyMs: 20 });
  const config = testConfig();
  const workers = await startWorkers(config, { queues: ['conversion'] });
  try {
    const small = await startJobDirect(client, config, `bulk-replay-one-url-${Date.now()}`, [site.url('/page/replay-one')]);
    await small.result();
    await save('bulk-conversion-one-url', small);
  } finally {
    await workers.shutdown();
    await site.close();
  }
}

async function recordManifestBulk(client: Client): Promise<void> {
  // Stored URL lists: one read through its line index (a local check, no split), one split into chunk files.
  const site = await startTestSite();
  const config = testConfig();
  const workers = await startWorkers(config, { queues: ['conversion'] });
  try {
    const urls = Array.from({ length: 1_050 }, (_, i) => site.url(`/page/replay-manifest-${i}`));
    const tuning = { chunkSize: 350, chunkParallelism: 50 };
    const indexed = await startJobDirect(client, config, `bulk-replay-indexed-${Date.now()}`, urls, {
      format: 'markdown',
      concurrency: 100,
      tuning,
    });
    const split = await startJobDirect(client, config, `bulk-replay-split-${Date.now()}`, urls, {
      format: 'markdown',
      concurrency: 100,
      tuning,
      unindexedManifest: true,
    });
    await Promise.all([indexed.result(), split.result()]);
    await save('bulk-conversion-manifest-indexed', indexed);
    await save('bulk-conversion-manifest-split', split);
  } finally {
    await workers.shutdown();
    await site.close();
  }
}

async function recordVideo(client: Client): Promise<void> {
  // Video: happy path and a cancel mid-poll; the slot semaphore they used.
  const stack = await startVideoStack(client, { generationMs: 1_500 });
  try {
    const ok = await startVideoJob(stack.app, KEYS.alice, { prompt: 'replay happy path', provider: 'emulator' });
    await waitForVideoJobEnd(stack.app, KEYS.alice, ok.jobId);
    await save('video-generation-completed', client.workflow.getHandle(ok.jobId));
    const slow = await startVideoJob(stack.app, KEYS.alice, { prompt: 'replay cancel [gen:60000]', provider: 'emulator' });
    await waitFor(
      async () => (await client.workflow.getHandle(slow.jobId).query<{ phase: string }>('progress')).phase === 'generating',
      'generating',
      60_000,
      100,
    );
    await request(stack.app).post(`/api/v1/jobs/${slow.jobId}/cancel`).set(videoAuth(KEYS.alice)).expect(202);
    await waitForVideoJobEnd(stack.app, KEYS.alice, slow.jobId);
    await save('video-generation-cancelled', client.workflow.getHandle(slow.jobId));
    const slots = await client.workflow.list({
      query: `WorkflowType = "${videoSlots.name}" AND TaskQueue = "${prefixedQueue(stack.config.TASK_QUEUE_PREFIX, VIDEO_QUEUES.video)}"`,
    });
    for await (const s of slots) {
      await save('video-slots', client.workflow.getHandle(s.workflowId, s.runId));
      break;
    }
  } finally {
    await stack.close();
  }
}

describe('recorded workflow histories', () => {
  let client: Client;
  beforeAll(async () => {
    client = await testClient();
    if (RECORD) await recordAll(client);
  }, 600_000);
  afterAll(async () => {
    await client.connection.close();
  });

  test('cover every workflow type', () => {
    const types = new Set(
      fs
        .readdirSync(DIR)
        .filter((f) => f.endsWith('.json'))
        .map((f) => {
          const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')));
          return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
        }),
    );
    expect([...types].sort()).toEqual(
      [bulkConversion.name, videoGeneration.name, videoSlots.name, webhookDelivery.name, storageCleanup.name].sort(),
    );
  });

  test('replay against the current workflow code without non-determinism', async () => {
    const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));
    const histories = files.map((f) => ({
      workflowId: f.replace(/\.json$/, ''),
      history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8'))),
    }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const r of Worker.runReplayHistories(
      { workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH! }, sinks: replayJobMetricsSinks() },
      histories,
    )) {
      replayed++;
      if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(files.length);
  });
});
