import request from 'supertest';
import type { Client } from '@temporalio/client';
import { createApp } from '../src/api/app';
import type { AppConfig } from '../src/config/env';
import { JOB_OUTCOME } from '../src/shared/search-attributes';
import { FsBlobStore } from '../src/storage/fs-blob-store';
import type { BlobStore } from '../src/storage/blob-store';
import { Webhook } from 'standardwebhooks';
import path from 'node:path';
import { auth, readResults, startJobDirect, waitForJobEnd } from './fixtures/bulk-jobs';
import { storeUrlManifest } from '../src/activities/bulk-conversion/manifest';
import { createBlobStore } from '../src/storage';
import type { UrlSource } from '../src/workflows/bulk-conversion/contract';
import { startTestSite, TestSite } from './fixtures/test-site';
import { startWebhookReceiver, WebhookReceiver } from './fixtures/webhook-receiver';
import { KEYS, RunningWorkers, startWorkers, TEST_WEBHOOK_SECRET, testClient, testConfig, testDeps, waitFor } from './harness/temporal';

// A bulk job keeps what it converted when parts of it fail for good, and every job — however
// early it ends — records its outcome and sends its webhook.

/** A real filesystem store whose writes to one key fail as a full disk would. */
function storeFailingWritesTo(inner: BlobStore, failingKey: RegExp): BlobStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'put') {
        return (key: string, ...rest: unknown[]) => {
          if (failingKey.test(key))
            return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
          return (target.put as (...a: unknown[]) => unknown)(key, ...rest);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

let config: AppConfig;
let client: Client;
let site: TestSite;
let receiver: WebhookReceiver;
let workers: RunningWorkers;

beforeAll(async () => {
  config = testConfig({ CONVERSION_RETRY_INTERVAL: '200ms' });
  client = await testClient(config);
  site = await startTestSite();
  receiver = await startWebhookReceiver();
  const store = storeFailingWritesTo(new FsBlobStore(path.join(config.dataDir, 'blobs')), /\/results\/chunk-000001\.jsonl$/);
  workers = await startWorkers(config, { deps: testDeps(config, { store }) });
});

afterAll(async () => {
  await workers?.shutdown();
  await site?.close();
  await receiver?.close();
  await client?.connection.close();
});

test('a chunk that keeps failing loses only its own URLs: the others finish, the job ends completed_with_errors with every URL in its results, and retry works', async () => {
  const urls = Array.from({ length: 6 }, (_, i) => site.url(`/page/chunky-${i}`));
  const jobId = `bulk-conversion-chunkfail-${Date.now()}`;
  await startJobDirect(client, config, jobId, urls, {
    format: 'markdown',
    concurrency: 2,
    tuning: { chunkSize: 2, chunkParallelism: 2, chunkMaxAttempts: 2 },
  });
  const app = createApp({ config, client, store: new FsBlobStore(path.join(config.dataDir, 'blobs')), logger: testDeps(config).logger });

  const job = await waitForJobEnd(app, KEYS.alice, jobId, 90_000);
  expect(job.status).toBe('completed_with_errors');
  expect(job.result).toMatchObject({ total: 6, succeeded: 4, failed: 2 });
  const results = await readResults(config, jobId);
  expect(results.map((r) => r.url)).toEqual(urls);
  expect(results.map((r) => r.status)).toEqual(['success', 'success', 'failed', 'failed', 'success', 'success']);
  expect(results[2].error).toMatch(/its chunk failed: .*ENOSPC/);

  const retry = await request(app).post(`/api/v1/jobs/${jobId}/retry`).set(auth(KEYS.alice));
  expect(retry.status).toBe(202);
  expect(retry.body.jobId).not.toBe(jobId);
  const again = await waitForJobEnd(app, KEYS.alice, retry.body.jobId, 90_000);
  expect(again.result).toMatchObject({ total: 2, succeeded: 2 });
});

async function startWithSource(jobId: string, source: UrlSource, webhookPath: string) {
  await client.workflow.start('bulkConversion', {
    workflowId: jobId,
    taskQueue: `${config.TASK_QUEUE_PREFIX}conversion`,
    args: [{ jobId, owner: 'alice', format: 'h5p', source, webhookUrl: receiver.url(webhookPath) }],
  });
}

/** The job ended failed: its JobOutcome says so, and its signed webhook gives an error matching `error`. */
async function expectFailedWithWebhook(jobId: string, webhookPath: string, error: RegExp) {
  await expect(client.workflow.getHandle(jobId).result()).rejects.toThrow();
  const described = await client.workflow.getHandle(jobId).describe();
  expect(described.typedSearchAttributes.get(JOB_OUTCOME)).toBe('failed');
  const hook = await waitFor(async () => receiver.received.find((r) => r.path === webhookPath), 'the failure webhook', 30_000);
  const event = new Webhook(TEST_WEBHOOK_SECRET).verify(hook.body, hook.headers as Record<string, string>) as {
    type: string;
    data: { status: string; error: string };
  };
  expect(event.type).toBe('job.failed');
  expect(event.data.status).toBe('failed');
  expect(event.data.error).toMatch(error);
}

test.each([
  ['split into chunk files', {}],
  ['read through its line index', { indexed: true as const }],
])('a job whose URL manifest (%s) is missing ends failed with its JobOutcome and a signed webhook saying why', async (_how, extra) => {
  const jobId = `bulk-conversion-nomanifest-${Date.now()}`;
  await startWithSource(jobId, { manifestPath: 'input/urls-missing.jsonl', count: 5000, ...extra }, `/early-${jobId}`);
  await expectFailedWithWebhook(jobId, `/early-${jobId}`, /no URL manifest/);
});

test('a job whose indexed manifest lists fewer URLs than the job says ends failed: the manifest is invalid', async () => {
  const jobId = `bulk-conversion-shortmanifest-${Date.now()}`;
  const urls = Array.from({ length: 1_500 }, (_, i) => site.url(`/page/short-${i}`));
  const stored = await storeUrlManifest(createBlobStore(config), jobId, 'short', urls);
  await startWithSource(jobId, { ...stored, count: 1_600 }, `/short-${jobId}`);
  await expectFailedWithWebhook(jobId, `/short-${jobId}`, /the URL manifest lists 1500 URLs, the job has 1600/);
  const history = await client.workflow.getHandle(jobId).fetchHistory();
  const scheduled = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'convertChunk');
  expect(scheduled).toEqual([]);
});
