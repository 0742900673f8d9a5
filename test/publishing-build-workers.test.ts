import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { liveGroupMembers } from '../src/activities/publishing-build/process-group';
import { KEYS, spawnWorkerProcess, testClient, waitFor } from './harness/temporal';
import { buildLog, getBuildJob, PublishingStack, startBuild, startPublishingStack, waitForBuildEnd } from './fixtures/publishing-jobs';

// Real worker processes: one SIGKILLed while App Review takes its time (the next one resumes
// the durable wait without submitting again), one SIGTERMed mid-build (the build finishes
// inside the grace period and is not run twice), and one SIGTERMed with a build that outlasts
// the grace period (the build is stopped and the attempt runs again on the other worker).

let client: Client;
let stack: PublishingStack;
const running: ChildProcess[] = [];
const QUEUES = { WORKER_TASK_QUEUES: 'builds,build-runs,webhooks' };
const worker = async (extra: Record<string, string> = {}) => {
  const w = await spawnWorkerProcess(stack.config, { ...stack.env, ...QUEUES, ...extra });
  running.push(w);
  return w;
};
const exited = (w: ChildProcess) =>
  new Promise<number | null>((r) => (w.exitCode !== null ? r(w.exitCode) : w.once('exit', (code) => r(code))));

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
  const jobId = await startBuild(stack.app, KEYS.alice, {
    projectId: 'p',
    platform: 'ios',
    source: { git: `file://${stack.repo}` },
    version: '3.0.0',
    buildNumber: 1,
  });
  await waitFor(
    async () => (await getBuildJob(stack.app, KEYS.alice, jobId)).progress?.phase === 'in_review',
    'the review to start',
    90_000,
  );
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
  const jobId = await startBuild(stack.app, KEYS.alice, {
    projectId: 'p',
    platform: 'android',
    source: { git: `file://${stack.repo}`, ref: 'slow' },
    version: '3.0.0',
    buildNumber: 2,
  });
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

test('a build outlasting WORKER_SHUTDOWN_GRACE is stopped, its process group killed, and retried on the other worker from a fresh workspace', async () => {
  for (const w of running) if (w.exitCode === null) w.kill('SIGKILL');
  // Two workers, each with its own workspace directory; whichever takes the build is stopped.
  const hosts = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'dj-build-host-')));
  const workers = await Promise.all(hosts.map((dir) => worker({ WORKER_SHUTDOWN_GRACE: '2s', BUILD_WORKSPACE_DIR: dir })));
  const jobId = await startBuild(stack.app, KEYS.alice, {
    projectId: 'p',
    platform: 'android',
    source: { git: `file://${stack.repo}`, ref: 'slow' },
    version: '3.0.0',
    buildNumber: 3,
  });
  const under = await waitFor(
    async () => {
      const log = await buildLog(stack.app, KEYS.alice, jobId);
      const found = /on worker (\d+)@[\s\S]*process group (\d+)[\s\S]*step 3\/30/.exec(log);
      return found ? { pid: Number(found[1]), pgid: Number(found[2]) } : undefined;
    },
    'the build to be under way',
    90_000,
  );
  const i = workers.findIndex((w) => w.pid === under.pid);
  expect(i).toBeGreaterThanOrEqual(0);
  const [first, other] = [workers[i], workers[1 - i]];
  // sh → npm → sh → node: a tree, all in the build's process group.
  expect(liveGroupMembers(under.pgid).length).toBeGreaterThanOrEqual(2);

  first.kill('SIGTERM');
  expect(await exited(first)).toBe(0);
  // The slow build needs 6 s; the grace period is 2 s: it was stopped, and nothing of it runs.
  expect(liveGroupMembers(under.pgid)).toEqual([]);
  expect(fs.readdirSync(hosts[i])).toEqual([]);
  const stopped = await buildLog(stack.app, KEYS.alice, jobId);
  expect(stopped).toMatch(
    new RegExp(`the worker ${under.pid}@\\S+ shut down and the build outlasted WORKER_SHUTDOWN_GRACE: process group ${under.pgid} stopped`),
  );
  expect(stopped).not.toMatch(/step 30\/30/);

  const job = await waitForBuildEnd(stack.app, KEYS.alice, jobId, 120_000);
  expect(job.status).toBe('completed');
  const log = await buildLog(stack.app, KEYS.alice, jobId);
  const attempts = log.split(/^(?==== attempt )/m).filter((part) => part.startsWith('=== attempt'));
  expect(attempts).toHaveLength(2);
  const workspace = (part: string) => /workspace (attempt-\S+) on worker (\d+)@/.exec(part)!;
  expect(Number(workspace(attempts[0])[2])).toBe(first.pid);
  expect(Number(workspace(attempts[1])[2])).toBe(other.pid);
  expect(workspace(attempts[1])[1]).toMatch(/^attempt-2-/);
  expect(attempts[1]).toMatch(/git clone --depth 1 --branch slow[\s\S]*step 30\/30[\s\S]*stored artifacts\/sample\.aab/);

  // In history: the build step's last attempt is the second, after the shutdown failure.
  const history = await client.workflow.getHandle(jobId).fetchHistory();
  const started = history.events!.map((e) => e.activityTaskStartedEventAttributes).filter((a) => a && a.attempt === 2);
  expect(started).toHaveLength(1);
  expect(started[0]!.lastFailure?.applicationFailureInfo?.type).toBe('BuildInterruptedByShutdown');
}, 240_000);
