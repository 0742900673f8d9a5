import type { ChildProcess } from 'node:child_process';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { KEYS, spawnWorkerProcess, testClient, waitFor } from './harness/temporal';
import { buildLog, getBuildJob, PublishingStack, startBuild, startPublishingStack, waitForBuildEnd } from './fixtures/publishing-jobs';

// Real worker processes: one SIGKILLed while App Review takes its time (the next one resumes
// the durable wait without submitting again), one SIGTERMed mid-build (the build finishes
// inside the grace period and is not run twice).

let client: Client;
let stack: PublishingStack;
const running: ChildProcess[] = [];
const QUEUES = { WORKER_TASK_QUEUES: 'builds,build-runs,webhooks' };
const worker = async (extra: Record<string, string> = {}) => {
  const w = await spawnWorkerProcess(stack.config, { ...stack.env, ...QUEUES, ...extra });
  running.push(w);
  return w;
};
const exited = (w: ChildProcess) => new Promise<number | null>((r) => (w.exitCode !== null ? r(w.exitCode) : w.once('exit', (code) => r(code))));

beforeAll(async () => {
  client = await testClient();
  stack = await startPublishingStack(client, { workers: false, reviewMs: 8_000 });
});
afterAll(async () => {
  for (const w of running) if (w.exitCode === null) w.kill('SIGKILL');
  await stack?.close();
  await client?.connection.close();
});

test('a worker SIGKILLed during review: the next worker resumes the wait, with one submission at the store', async () => {
  const first = await worker();
  const jobId = await startBuild(stack.app, KEYS.alice, { projectId: 'p', platform: 'ios', source: { git: `file://${stack.repo}` }, version: '3.0.0', buildNumber: 1 });
  await waitFor(async () => (await getBuildJob(stack.app, KEYS.alice, jobId)).progress?.phase === 'in_review', 'the review to start', 90_000);
  first.kill('SIGKILL');
  await exited(first);
  await worker();
  const job = await waitForBuildEnd(stack.app, KEYS.alice, jobId, 120_000);
  expect(job.status).toBe('completed');
  expect(job.result!.store).toMatchObject({ reviewState: 'COMPLETE' });
  expect(stack.stores.emulator.stats()).toMatchObject({ buildUploads: 1, reviewSubmissions: 1, submissionsSubmitted: 1 });
}, 240_000);

test('a worker SIGTERMed mid-build lets the build finish inside the grace period, then exits 0', async () => {
  for (const w of running) if (w.exitCode === null) w.kill('SIGKILL');
  const first = await worker({ WORKER_SHUTDOWN_GRACE: '30s' });
  const jobId = await startBuild(stack.app, KEYS.alice, { projectId: 'p', platform: 'android', source: { git: `file://${stack.repo}`, ref: 'slow' }, version: '3.0.0', buildNumber: 2 });
  await waitFor(async () => /step 3\/30/.test(await buildLog(stack.app, KEYS.alice, jobId)), 'the build to be under way', 90_000);
  first.kill('SIGTERM');
  expect(await exited(first)).toBe(0);
  const log = await buildLog(stack.app, KEYS.alice, jobId);
  expect(log).toMatch(/step 30\/30[\s\S]*stored artifacts\/sample\.aab/);

  await worker();
  const job = await waitForBuildEnd(stack.app, KEYS.alice, jobId, 120_000);
  expect(job.status).toBe('completed');
  const history = await client.workflow.getHandle(jobId).fetchHistory();
  const starts = history.events!.filter((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
  expect(starts.find((e) => e.activityTaskStartedEventAttributes?.attempt !== 1)).toBeUndefined();
  expect((await buildLog(stack.app, KEYS.alice, jobId)).match(/=== attempt/g)).toHaveLength(1);
}, 240_000);
