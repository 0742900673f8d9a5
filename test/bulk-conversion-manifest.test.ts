import request from 'supertest';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Express } from 'express';
import type { AppConfig } from '../src/config/env';
import type { BulkConversionInput } from '../src/workflows/bulk-conversion/contract';
import { auth, readResults, startJobDirect, waitForJobEnd } from './fixtures/bulk-jobs';
import { GateSite, startGateSite } from './fixtures/gate-site';
import { startTestSite, TestSite } from './fixtures/test-site';
import { testApp } from './harness/api';
import { KEYS, RunningWorkers, startWorkers, testClient, testConfig, waitFor } from './harness/temporal';

// A large job's URL list is a stored manifest with a line index: the job checks it in its first
// workflow task (a local activity) and its chunks read their own lines of it, with no split step.

const EventType = temporal.api.enums.v1.EventType;

let client: Client;
let site: TestSite;
let config: AppConfig;
let workers: RunningWorkers;
let app: Express;

beforeAll(async () => {
  client = await testClient();
  site = await startTestSite();
  config = testConfig();
  workers = await startWorkers(config);
  app = testApp(config, client);
});
afterAll(async () => {
  await workers?.shutdown();
  await site?.close();
  await client?.connection.close();
});

/** Names of the history's events, with the activity type of scheduled activities and local-activity markers. */
async function historyEvents(jobId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(jobId).fetchHistory();
  return (history.events ?? []).map((e) => {
    const name = EventType[e.eventType ?? 0].replace(/^EVENT_TYPE_/, '');
    const activity = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (activity) return `${name} ${activity}`;
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName === 'core_local_activity') {
      const data = marker.details?.data?.payloads?.[0]?.data;
      const { activity_type } = JSON.parse(Buffer.from(data!).toString('utf8')) as { activity_type: string };
      return `${name} local ${activity_type}`;
    }
    return name;
  });
}

test('2,500 URLs through the API, in chunks of 625 (not a multiple of the index step): every URL converted, in order, without a split step', async () => {
  // Some URLs carry multi-byte characters, so byte offsets and character offsets differ.
  const urls = Array.from({ length: 2_500 }, (_, i) => site.url(`/page/${i}`) + (i % 3 === 0 ? `?q=文字-${i}` : ''));
  const res = await request(app)
    .post('/api/v1/jobs/bulk-conversions')
    .set(auth(KEYS.alice))
    .send({ urls, format: 'markdown', concurrency: 70 });
  expect(res.status).toBe(202);
  const jobId = res.body.jobId as string;
  const job = await waitForJobEnd(app, KEYS.alice, jobId, 180_000);
  expect(job.status).toBe('completed');
  expect(job.result).toMatchObject({ total: 2_500, succeeded: 2_500, failed: 0 });

  const results = await readResults(config, jobId);
  expect(results.map((r) => r.url)).toEqual(urls);
  expect(results.every((r, i) => r.index === i && r.status === 'success')).toBe(true);

  const history = await client.workflow.getHandle(jobId).fetchHistory();
  const input = JSON.parse(
    Buffer.from(history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0].data!).toString('utf8'),
  ) as BulkConversionInput;
  expect(input.source).toMatchObject({ count: 2_500, indexed: true });

  const events = await historyEvents(jobId);
  expect(events.filter((e) => /splitUrlManifest/.test(e))).toEqual([]);
  const chunks = events.filter((e) => e === 'ACTIVITY_TASK_SCHEDULED convertChunk');
  expect(chunks).toHaveLength(4);
  // The first chunks are scheduled by the first workflow task, right after the manifest check.
  const firstChunk = events.indexOf('ACTIVITY_TASK_SCHEDULED convertChunk');
  expect(events.slice(0, firstChunk)).toEqual([
    'WORKFLOW_EXECUTION_STARTED',
    'WORKFLOW_TASK_SCHEDULED',
    'WORKFLOW_TASK_STARTED',
    'WORKFLOW_TASK_COMPLETED',
    'MARKER_RECORDED', // patch balanced-chunk-plan…
    'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES', // …and its TemporalChangeVersion
    'MARKER_RECORDED local checkUrlManifest',
  ]);
  expect(events[firstChunk + 1]).toBe('ACTIVITY_TASK_SCHEDULED convertChunk');
}, 240_000);

test('a job whose manifest has no line index (started before it existed) is still split into chunk files and converted in order', async () => {
  const urls = Array.from({ length: 1_050 }, (_, i) => site.url(`/page/split-${i}`) + (i % 4 === 0 ? `?q=ü${i}` : ''));
  const jobId = `bulk-manifest-split-${Date.now()}`;
  const handle = await startJobDirect(client, config, jobId, urls, {
    format: 'markdown',
    concurrency: 100,
    tuning: { chunkSize: 350, chunkParallelism: 50 },
    unindexedManifest: true,
  });
  await handle.result();
  const results = await readResults(config, jobId);
  expect(results.map((r) => [r.url, r.status])).toEqual(urls.map((u) => [u, 'success']));
  const events = await historyEvents(jobId);
  expect(events.filter((e) => e.startsWith('ACTIVITY_TASK_SCHEDULED'))).toEqual([
    'ACTIVITY_TASK_SCHEDULED splitUrlManifest',
    'ACTIVITY_TASK_SCHEDULED convertChunk',
    'ACTIVITY_TASK_SCHEDULED convertChunk',
    'ACTIVITY_TASK_SCHEDULED convertChunk',
    'ACTIVITY_TASK_SCHEDULED finalizeBulkConversion',
  ]);
  expect(events.filter((e) => e.includes('local'))).toEqual([]);
});

describe('cancelled', () => {
  let gate: GateSite;
  beforeAll(async () => {
    gate = await startGateSite();
  });
  afterAll(async () => {
    await gate?.close();
  });

  test("a cancelled job's results name every URL it never reached by its URL", async () => {
    const urls = [
      site.url('/good/2'),
      ...Array.from({ length: 1_200 }, (_, i) => gate.url(`/held/${i}`) + (i % 5 === 0 ? `?q=é${i}` : '')),
    ];
    const jobId = `bulk-manifest-cancel-${Date.now()}`;
    const handle = await startJobDirect(client, config, jobId, urls, {
      format: 'markdown',
      concurrency: 4,
      tuning: { chunkSize: 150, chunkParallelism: 4 },
    });
    await waitFor(() => gate.stats().held === 4 || undefined, 'the window to fill with held requests');
    await handle.cancel();
    const job = await waitForJobEnd(app, KEYS.alice, jobId);
    expect(job.status).toBe('cancelled');

    const results = await readResults(config, jobId);
    expect(results.map((r) => r.url)).toEqual(urls);
    expect(results[0].status).toBe('success');
    expect(results.slice(1).every((r) => r.status === 'cancelled')).toBe(true);
  });
});
