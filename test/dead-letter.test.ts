import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { prefixedQueue } from '../src/shared/task-queues';
import { createBlobStore } from '../src/storage';
import { readJobRecord } from '../src/storage/job-records';
import { jobOutcomesSweep } from '../src/workflows/job-outcomes';
import { JOB_OUTCOMES_QUEUE, JobOutcomesSweepResult } from '../src/workflows/job-outcomes/contract';
import { startWebhookReceiver, verifyWebhook, WebhookReceiver } from './fixtures/webhook-receiver';
import {
  auth,
  downloadThroughApi,
  getVideoJob,
  startVideoJob,
  startVideoStack,
  VideoStack,
  waitForVideoJobEnd,
} from './fixtures/video-jobs';
import { KEYS, RunningWorkers, startWorkers, testClient, TEST_WEBHOOK_SECRET, waitFor } from './harness/temporal';

// The operator's side of failures, against a real dev server, real workers, the provider
// emulator and an alert receiver that verifies signatures with the public standardwebhooks
// package: the dead-letter view, replay, reset, purge, alerts and job records past retention.

interface Failure {
  jobId: string;
  type: string;
  owner: string;
  class: string;
  error: string;
  summary?: string;
  temporalUiUrl: string;
  failedAt: string;
}

let client: Client;
let stack: VideoStack;
let outcomesWorker: RunningWorkers;
let alerts: WebhookReceiver;
const admin = auth(KEYS.admin);

beforeAll(async () => {
  client = await testClient();
  alerts = await startWebhookReceiver();
  stack = await startVideoStack(client, {
    env: { ALERT_WEBHOOK_URL: alerts.url('/alerts'), ALERT_FAILURE_THRESHOLD: '1', ALERT_WINDOW: '1h', VIDEO_MAX_IN_FLIGHT: '10' },
  });
  outcomesWorker = await startWorkers(stack.config, { queues: [JOB_OUTCOMES_QUEUE] });
}, 120_000);

afterAll(async () => {
  await outcomesWorker?.shutdown();
  await stack?.close();
  await alerts?.close();
  await client?.connection.close();
});

/** One pass of the job-outcomes sweep, as its schedule starts it every minute. */
function sweep(): Promise<JobOutcomesSweepResult> {
  return client.workflow.execute(jobOutcomesSweep, {
    workflowId: `sweep-${randomUUID()}`,
    taskQueue: prefixedQueue(stack.config.TASK_QUEUE_PREFIX, JOB_OUTCOMES_QUEUE),
  });
}

async function failures(query: Record<string, string>): Promise<Failure[]> {
  const res = await request(stack.app).get('/api/admin/failures').query(query).set(admin);
  if (res.status !== 200) throw new Error(`failures: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.failures as Failure[];
}

const alertsOfType = (type: string) =>
  alerts.received
    .map((h) => ({ hook: h, event: JSON.parse(h.body) as { type: string; data: Record<string, unknown> } }))
    .filter((a) => a.event.type === type);

let failedId: string;
let terminatedId: string;
let replayId: string;

test('a failed job appears in the dead-letter view with its class, error and summary; only admins see it; bad filters are 400', async () => {
  ({ jobId: failedId } = await startVideoJob(stack.app, KEYS.alice, {
    prompt: 'A glass cathedral [fail:the scene could not be rendered]',
  }));
  expect((await waitForVideoJobEnd(stack.app, KEYS.alice, failedId)).status).toBe('failed');

  const listed = await waitFor(
    async () => (await failures({ type: 'video-generation' })).find((f) => f.jobId === failedId),
    'the failure to be listed',
  );
  expect(listed).toMatchObject({ type: 'video-generation', owner: 'alice', class: 'VideoGenerationFailed' });
  expect(listed.error).toMatch(/the scene could not be rendered/);
  expect(listed.summary).toBe('Video generation · emulator sora-2 · 4 s 720x1280 · alice');
  expect(listed.temporalUiUrl).toContain(`/workflows/${failedId}`);
  expect(Date.parse(listed.failedAt)).toBeGreaterThan(Date.now() - 120_000);
  // Filters: by class and owner; a window that ended before the failure lists nothing.
  expect((await failures({ class: 'VideoGenerationFailed', owner: 'alice' })).map((f) => f.jobId)).toContain(failedId);
  expect(await failures({ owner: 'bob' })).toEqual([]);
  expect(await failures({ to: new Date(Date.now() - 3_600_000).toISOString() })).toEqual([]);

  expect((await request(stack.app).get('/api/admin/failures').set(auth(KEYS.alice))).status).toBe(403);
  const bad = await request(stack.app).get('/api/admin/failures').query({ from: 'yesterday', pageSize: '0' }).set(admin);
  expect(bad.status).toBe(400);
  expect(bad.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual(['from', 'pageSize']);

  // Temporal Web shows what the job is without opening it.
  const description = await client.workflow.getHandle(failedId).describe();
  expect(await description.staticSummary()).toBe('Video generation · emulator sora-2 · 4 s 720x1280 · alice');
  expect(await description.staticDetails()).toContain('A glass cathedral');
});

test('a terminated job appears with class terminated and the reason', async () => {
  ({ jobId: terminatedId } = await startVideoJob(stack.app, KEYS.bob, { prompt: 'A very long take [gen:600000]' }));
  await waitFor(
    async () => (await getVideoJob(stack.app, KEYS.bob, terminatedId)).progress?.phase === 'generating',
    'the generation to start',
  );
  await client.workflow.getHandle(terminatedId).terminate('provider stuck; terminated by on-call');
  const listed = await waitFor(
    async () => (await failures({ class: 'terminated' })).find((f) => f.jobId === terminatedId),
    'the terminated job to be listed',
  );
  expect(listed).toMatchObject({ owner: 'bob', class: 'terminated' });
  expect(listed.error).toMatch(/provider stuck; terminated by on-call/);
});

test('job.failed alerts are signed, one per failed job; the failure-rate alert fires once per window', async () => {
  // Passes as the schedule would run them (a job that closed a moment ago waits for the next one).
  await waitFor(
    async () => {
      await sweep();
      return alertsOfType('job.failed').length >= 2 && alertsOfType('jobs.failure_rate').length >= 1;
    },
    'the alerts',
    30_000,
    500,
  );
  // A third pass and a few seconds more bring no second copy of any alert.
  await sweep();
  await new Promise((r) => setTimeout(r, 3_000));

  const failed = alertsOfType('job.failed');
  expect(failed.map((a) => a.event.data.jobId).sort()).toEqual([failedId, terminatedId].sort());
  for (const { hook } of failed) verifyWebhook(TEST_WEBHOOK_SECRET, hook);
  const forFailed = failed.find((a) => a.event.data.jobId === failedId)!;
  expect(forFailed.event).toMatchObject({
    type: 'job.failed',
    timestamp: expect.any(String),
    data: { type: 'video-generation', owner: 'alice', status: 'failed', failureClass: 'VideoGenerationFailed' },
  });
  expect(forFailed.event.data.error).toMatch(/could not be rendered/);
  expect(failed.find((a) => a.event.data.jobId === terminatedId)!.event.data.failureClass).toBe('terminated');

  const rate = alertsOfType('jobs.failure_rate');
  expect(rate).toHaveLength(1);
  verifyWebhook(TEST_WEBHOOK_SECRET, rate[0].hook);
  expect(rate[0].event.data).toMatchObject({ jobType: 'video-generation', threshold: 1 });
  expect(rate[0].event.data.failures).toBeGreaterThanOrEqual(2);
});

test('replay with an edited input succeeds and records replayOf; the same replay twice is one job; bad input names the field', async () => {
  const body = { input: { prompt: 'A glass cathedral at noon', provider: 'emulator' } };
  const res = await request(stack.app).post(`/api/admin/jobs/${failedId}/replay`).set(admin).send(body);
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ replayOf: failedId, status: 'running', existing: false });
  replayId = res.body.jobId;
  expect(replayId).not.toBe(failedId);
  const again = await request(stack.app).post(`/api/admin/jobs/${failedId}/replay`).set(admin).send(body);
  expect(again.body).toMatchObject({ jobId: replayId, existing: true });

  const job = await waitForVideoJobEnd(stack.app, KEYS.alice, replayId);
  expect(job.status).toBe('completed');
  expect((job as unknown as { replayOf: string }).replayOf).toBe(failedId);
  expect(await (await client.workflow.getHandle(replayId).describe()).staticDetails()).toContain(`**Replay of** ${failedId}`);

  const bad = await request(stack.app)
    .post(`/api/admin/jobs/${failedId}/replay`)
    .set(admin)
    .send({ input: { prompt: '', seconds: 7 } });
  expect(bad.status).toBe(400);
  expect(bad.body.error.fields.map((f: { field: string }) => f.field)).toEqual(expect.arrayContaining(['input.prompt']));
  expect((await request(stack.app).post(`/api/admin/jobs/${failedId}/replay`).set(admin).send({ inputs: {} })).status).toBe(400);
  expect((await request(stack.app).post('/api/admin/jobs/no-such-job/replay').set(admin).send({})).status).toBe(404);
});

test('bulk replay starts one replay per matching failure, and only one however often it is asked', async () => {
  const filter = { type: 'video-generation', class: 'terminated', owner: 'bob' };
  const res = await request(stack.app).post('/api/admin/failures/replay').set(admin).send(filter);
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ matched: 1, failed: [] });
  expect(res.body.replayed).toEqual([{ jobId: terminatedId, newJobId: expect.any(String), existing: false }]);
  const again = await request(stack.app).post('/api/admin/failures/replay').set(admin).send(filter);
  expect(again.body.replayed).toEqual([{ jobId: terminatedId, newJobId: res.body.replayed[0].newJobId, existing: true }]);
  // The replay generates for 10 minutes like its source: stop it.
  await client.workflow.getHandle(res.body.replayed[0].newJobId).cancel();
  expect((await request(stack.app).post('/api/admin/failures/replay').set(admin).send({ limit: 100000 })).status).toBe(400);
});

test('reset starts the failed job again from its first workflow task', async () => {
  const before = await client.workflow.getHandle(failedId).describe();
  const res = await request(stack.app).post(`/api/admin/jobs/${failedId}/reset`).set(admin).send({ to: 'first' });
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ jobId: failedId, previousRunId: before.runId, resetTo: 'first' });
  const after = await client.workflow.getHandle(failedId).describe();
  expect(after.runId).toBe(res.body.runId);
  expect(after.runId).not.toBe(before.runId);
  // The provider fails the prompt again: the new run fails the same way.
  expect((await waitForVideoJobEnd(stack.app, KEYS.alice, failedId)).status).toBe('failed');
  // A completed job is refused.
  expect((await request(stack.app).post(`/api/admin/jobs/${replayId}/reset`).set(admin).send({})).status).toBe(409);
});

test('a job Temporal has forgotten answers from its record; its files still download; purge removes them and keeps the record', async () => {
  const live = await getVideoJob(stack.app, KEYS.alice, replayId);
  // A pass covers jobs closed up to a second before it: sweep until this one's record is written.
  const store = createBlobStore(stack.config);
  await waitFor(async () => (await sweep()) && (await readJobRecord(store, replayId)), 'the sweep to record the job', 30_000);
  // Retention, simulated: the workflow execution is deleted. The server deletes in the background
  // (a transfer task), so the request is repeated until the execution is gone.
  await waitFor(
    async () => {
      try {
        await client.workflowService.deleteWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: replayId } });
        await client.workflow.getHandle(replayId).describe();
        return false;
      } catch (e) {
        return e instanceof WorkflowNotFoundError || (e as { code?: number }).code === 5;
      }
    },
    'the workflow to be deleted',
    90_000,
    1_000,
  );

  const archived = await request(stack.app).get(`/api/v1/jobs/${replayId}`).set(auth(KEYS.alice));
  expect(archived.status).toBe(200);
  expect(archived.body).toMatchObject({
    jobId: replayId,
    type: 'video-generation',
    status: 'completed',
    archived: true,
    replayOf: failedId,
    result: live.result,
  });
  expect((await request(stack.app).get(`/api/v1/jobs/${replayId}`).set(auth(KEYS.bob))).status).toBe(404);
  const file = await downloadThroughApi(stack.app, KEYS.alice, live.result!.downloadUrl);
  expect(file.status).toBe(200);
  expect(file.body.length).toBe(live.result!.bytes);

  const purge = await request(stack.app).delete(`/api/admin/jobs/${replayId}`).set(admin);
  expect(purge.status).toBe(200);
  expect(purge.body).toMatchObject({ jobId: replayId, recordKept: true });
  expect(purge.body.purged.files).toBeGreaterThanOrEqual(1);
  expect((await downloadThroughApi(stack.app, KEYS.alice, live.result!.downloadUrl)).status).toBe(404);
  const after = await request(stack.app).get(`/api/v1/jobs/${replayId}`).set(auth(KEYS.alice));
  expect(after.body).toMatchObject({ status: 'completed', archived: true, filesPurgedAt: expect.any(String) });
  const again = await request(stack.app).delete(`/api/admin/jobs/${replayId}`).set(admin);
  expect(again.body.purged).toEqual({ files: 0, bytes: 0 });
  expect((await request(stack.app).delete('/api/admin/jobs/..').set(admin)).status).toBe(404);
});
