import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { liveGroupMembers } from '../src/activities/publishing-build/process-group';
import { JOB_OUTCOME } from '../src/shared/search-attributes';
import { KEYS, testClient, waitFor } from './harness/temporal';
import { startWebhookReceiver, WebhookReceiver } from './fixtures/webhook-receiver';
import {
  auth,
  buildLog,
  getBuildJob,
  processRunning,
  PublishingStack,
  startBuild,
  startPublishingStack,
  waitForBuildEnd,
} from './fixtures/publishing-jobs';
import { TEST_PACKAGE } from './fixtures/store-stack';

// The publishing build job end to end: the real API and workers on a real dev server, real git
// and real child processes building the sample app, the store emulator reached through the real
// App Store Connect and Google Play clients.

let client: Client;
let stack: PublishingStack;
let receiver: WebhookReceiver;

beforeAll(async () => {
  client = await testClient();
  receiver = await startWebhookReceiver();
  stack = await startPublishingStack(client, { env: { BUILD_TIMEOUT: '15s' } });
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
  await client?.connection.close();
});
beforeEach(() => stack.stores.emulator.reset());

/** The build's process group and the helper the hanging build leaves in it, from the log. */
const hangingBuild = (app: typeof stack.app, jobId: string) =>
  waitFor(async () => {
    const log = await buildLog(app, KEYS.alice, jobId);
    const group = /process group (\d+)/.exec(log);
    const helper = /helper pid (\d+)/.exec(log);
    return group && helper ? { pgid: Number(group[1]), helper: Number(helper[1]) } : undefined;
  }, 'the helper process');
const outcomeOf = async (jobId: string) => (await client.workflow.getHandle(jobId).describe()).typedSearchAttributes.get(JOB_OUTCOME);
const gitSource = (ref?: string) => ({ git: `file://${stack.repo}`, ...(ref ? { ref } : {}) });
let nextBuild = 100;
const android = (extra: Record<string, unknown> = {}) => ({
  projectId: 'sample',
  platform: 'android',
  source: gitSource(),
  version: '1.4.0',
  buildNumber: (nextBuild += 10),
  ...extra,
});
const ios = (extra: Record<string, unknown> = {}) => ({
  projectId: 'sample',
  platform: 'ios',
  source: gitSource(),
  version: '1.4.0',
  buildNumber: (nextBuild += 10),
  ...extra,
});

describe('happy paths', () => {
  test('android: cloned, built, stored with its SHA-256, committed to the beta track as a staged rollout; log, artifact and webhook', async () => {
    const body = android({ track: 'beta', rollout: 0.25, releaseNotes: 'Faster sync', webhookUrl: receiver.url('/android') });
    const jobId = await startBuild(stack.app, KEYS.alice, body);
    const job = await waitForBuildEnd(stack.app, KEYS.alice, jobId);
    expect(job.status).toBe('completed');
    expect(job.result).toMatchObject({
      platform: 'android',
      version: '1.4.0',
      buildNumber: body.buildNumber,
      store: {
        store: 'google-play',
        packageName: TEST_PACKAGE,
        versionCode: body.buildNumber,
        track: 'beta',
        status: 'inProgress',
        userFraction: 0.25,
      },
      artifact: { file: 'artifacts/sample.aab', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    const committed = stack.stores.emulator.state().playTracks.get(TEST_PACKAGE)!.get('beta')!;
    expect(committed).toEqual([
      expect.objectContaining({
        versionCodes: [String(body.buildNumber)],
        status: 'inProgress',
        userFraction: 0.25,
        releaseNotes: [{ language: 'en-US', text: 'Faster sync' }],
      }),
    ]);
    expect(stack.stores.emulator.stats()).toMatchObject({ editsCommitted: 1, bundlesUploaded: 1 });

    const artifact = await request(stack.app).get(new URL(job.result!.artifact.downloadUrl).pathname).set(auth(KEYS.alice)).buffer(true);
    expect(artifact.status).toBe(200);
    expect(Number(artifact.headers['content-length'])).toBe(job.result!.artifact.bytes);

    const log = await buildLog(stack.app, KEYS.alice, jobId);
    expect(log).toMatch(/=== attempt 1 of the android build 1\.4\.0/);
    expect(log).toMatch(/git clone --depth 1 file:\/\//);
    expect(log).toMatch(/step 3\/3/);
    // The build saw none of the worker's secrets (ASC_*, PLAY_*, WEBHOOK_SECRET, API_KEYS…).
    expect(log).toContain('secrets visible: none');
    expect((await request(stack.app).get(`/api/v1/jobs/${jobId}/logs`).set(auth(KEYS.bob))).status).toBe(404);
    expect(await outcomeOf(jobId)).toBe('completed');

    const hook = await waitFor(() => receiver.received.find((r) => r.path === '/android'), 'the webhook');
    expect(JSON.parse(hook.body)).toMatchObject({
      type: 'job.completed',
      timestamp: expect.any(String),
      data: { jobId, type: 'publishing-build', status: 'completed', store: { editId: expect.any(String), versionCode: body.buildNumber } },
    });
  });

  test('ios: upload in parts, processing to VALID, App Review on durable timers to approval', async () => {
    const jobId = await startBuild(stack.app, KEYS.alice, ios({ source: { ...gitSource('main') } }));
    const reviewing = await waitFor(async () => {
      const job = await getBuildJob(stack.app, KEYS.alice, jobId);
      return job.progress?.phase === 'in_review' || job.status !== 'running' ? job : undefined;
    }, 'the review to start');
    if (reviewing.status === 'running') expect(reviewing.progress!.store.state).toMatch(/WAITING_FOR_REVIEW|IN_REVIEW/);
    const job = await waitForBuildEnd(stack.app, KEYS.alice, jobId);
    expect(job.status).toBe('completed');
    expect(job.result!.store).toMatchObject({
      store: 'app-store-connect',
      reviewState: 'COMPLETE',
      buildId: expect.any(String),
      reviewSubmissionId: expect.any(String),
    });
    expect(stack.stores.emulator.stats()).toMatchObject({ buildUploads: 1, submissionsSubmitted: 1, buildsProcessed: 1 });
    // The wait is timers in history, not a sleeping activity.
    const history = await client.workflow.getHandle(jobId).fetchHistory();
    const timers = history.events!.filter((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_TIMER_STARTED);
    expect(timers.length).toBeGreaterThanOrEqual(2);
  });
});

describe('build failures', () => {
  test('a build that exits 1 is tried three times, then the job fails with the log tail', async () => {
    const jobId = await startBuild(stack.app, KEYS.alice, android({ source: gitSource('fail') }));
    const job = await waitForBuildEnd(stack.app, KEYS.alice, jobId);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/exited with code 1 \(attempt 3\)/);
    expect(job.error).toContain('error: compilation failed in src/main.ts:42');
    const log = await buildLog(stack.app, KEYS.alice, jobId);
    expect(log.match(/=== attempt \d/g)).toEqual(['=== attempt 1', '=== attempt 2', '=== attempt 3']);
    expect(stack.stores.emulator.stats().bundlesUploaded).toBe(0);
  });

  test('a build that hangs past BUILD_TIMEOUT is killed with its whole process group', async () => {
    const jobId = await startBuild(stack.app, KEYS.alice, android({ source: gitSource('hang') }));
    const { pgid, helper } = await hangingBuild(stack.app, jobId);
    expect(processRunning(helper)).toBe(true);
    expect(liveGroupMembers(pgid)).toContain(helper);
    const job = await waitForBuildEnd(stack.app, KEYS.alice, jobId);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/did not finish within 15 s and was killed/);
    expect(job.error).toContain('ignoring SIGTERM');
    // Nothing of the group runs: not the build that ignored SIGTERM, not the helper it started.
    expect(liveGroupMembers(pgid)).toEqual([]);
    expect(processRunning(helper)).toBe(false);
  });

  test.each([
    ['a missing repository', () => ({ git: `file://${stack.root}/no-such-repo` }), /source\.git \/.*no-such-repo does not exist/],
    ['a directory that is no repository', () => ({ git: `file://${stack.root}` }), /source\.git repository file:\/\/.* was not found/],
    ['a missing path', () => ({ path: `${stack.root}/no-such-dir` }), /source\.path .*no-such-dir does not exist/],
    ['a build that leaves no artifact', () => gitSource('none'), /the build left no \.aab file under dist\//],
  ])('%s fails at once, naming it', async (_what, source, message) => {
    const jobId = await startBuild(stack.app, KEYS.alice, android({ source: source() }));
    const job = await waitForBuildEnd(stack.app, KEYS.alice, jobId);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(message);
    expect((await buildLog(stack.app, KEYS.alice, jobId)).match(/=== attempt/g)).toHaveLength(1);
  });

  test('a missing ref fails at once, naming it', async () => {
    const jobId = await startBuild(stack.app, KEYS.alice, android({ source: gitSource('no-such-branch') }));
    const job = await waitForBuildEnd(stack.app, KEYS.alice, jobId);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/source\.ref "no-such-branch" does not exist/);
    expect((await buildLog(stack.app, KEYS.alice, jobId)).match(/=== attempt/g)).toHaveLength(1);
  });
});

describe('cancel', () => {
  test('cancel mid-build kills the process group', async () => {
    const app = stack.app;
    const jobId = await startBuild(app, KEYS.alice, android({ source: gitSource('hang') }));
    const { pgid, helper } = await hangingBuild(app, jobId);
    expect(liveGroupMembers(pgid).length).toBeGreaterThanOrEqual(2);
    expect((await request(app).post(`/api/v1/jobs/${jobId}/cancel`).set(auth(KEYS.alice))).status).toBe(202);
    const job = await waitForBuildEnd(app, KEYS.alice, jobId);
    expect(job.status).toBe('cancelled');
    await waitFor(() => liveGroupMembers(pgid).length === 0, 'the process group to be gone', 15_000);
    expect(processRunning(helper)).toBe(false);
    expect(await outcomeOf(jobId)).toBe('cancelled');
  });

  test('cancel during review withdraws the submission at App Store Connect', async () => {
    stack.stores.emulator.state().timings.reviewMs = 60_000;
    try {
      const jobId = await startBuild(stack.app, KEYS.alice, ios());
      await waitFor(async () => (await getBuildJob(stack.app, KEYS.alice, jobId)).progress?.phase === 'in_review', 'the review to start');
      expect((await request(stack.app).post(`/api/v1/jobs/${jobId}/cancel`).set(auth(KEYS.alice))).status).toBe(202);
      const job = await waitForBuildEnd(stack.app, KEYS.alice, jobId);
      expect(job.status).toBe('cancelled');
      expect(stack.stores.emulator.stats()).toMatchObject({ submissionsSubmitted: 1, submissionsCanceled: 1 });
    } finally {
      stack.stores.emulator.state().timings.reviewMs = 1_200;
    }
  });
});

describe('store outcomes', () => {
  test("a rejected review fails the job with App Review's words", async () => {
    stack.stores.emulator.behave({ nextReview: { outcome: 'REJECTED', reason: 'Guideline 2.1 - App Completeness' } });
    const jobId = await startBuild(stack.app, KEYS.alice, ios({ webhookUrl: receiver.url('/rejected') }));
    const job = await waitForBuildEnd(stack.app, KEYS.alice, jobId);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/App Review rejected version 1\.4\.0 .*Guideline 2\.1 - App Completeness/);
    const hook = await waitFor(() => receiver.received.find((r) => r.path === '/rejected'), 'the webhook');
    expect(JSON.parse(hook.body)).toMatchObject({
      type: 'job.failed',
      data: { status: 'failed', store: { reviewState: 'UNRESOLVED_ISSUES', rejectionReason: 'Guideline 2.1 - App Completeness' } },
    });
  });

  test('processing INVALID fails the job with the reason, without a review submission', async () => {
    stack.stores.emulator.behave({ nextProcessing: { state: 'INVALID', reason: 'Missing required icon file.' } });
    const jobId = await startBuild(stack.app, KEYS.alice, ios());
    const job = await waitForBuildEnd(stack.app, KEYS.alice, jobId);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/processed build \d+ as INVALID: Missing required icon file\./);
    expect(stack.stores.emulator.stats().reviewSubmissions).toBe(0);
  });

  test('a duplicate build number fails at once and says to raise it; retry with nextBuildNumber=1 succeeds', async () => {
    const body = android();
    expect((await waitForBuildEnd(stack.app, KEYS.alice, await startBuild(stack.app, KEYS.alice, body))).status).toBe('completed');
    const dupId = await startBuild(stack.app, KEYS.alice, body);
    const dup = await waitForBuildEnd(stack.app, KEYS.alice, dupId);
    expect(dup.status).toBe('failed');
    expect(dup.error).toMatch(new RegExp(`build number ${body.buildNumber} was already used.*higher buildNumber`));

    const retry = await request(stack.app).post(`/api/v1/jobs/${dupId}/retry?nextBuildNumber=1`).set(auth(KEYS.alice));
    expect(retry.status).toBe(202);
    const retried = await waitForBuildEnd(stack.app, KEYS.alice, retry.body.jobId);
    expect(retried.status).toBe('completed');
    expect(retried.result!.buildNumber).toBe((body.buildNumber as number) + 1);
  });
});

test('the log endpoint follows a running build until the build step ends', async () => {
  const jobId = await startBuild(stack.app, KEYS.alice, android({ source: gitSource('slow') }));
  const server = http.createServer(stack.app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const chunks: { at: number; text: string }[] = [];
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      http
        .get(
          `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/jobs/${jobId}/logs?follow=1`,
          { headers: auth(KEYS.alice) },
          (res) => {
            expect(res.statusCode).toBe(200);
            res.setEncoding('utf8');
            res.on('data', (text: string) => chunks.push({ at: Date.now() - started, text }));
            res.once('end', resolve);
          },
        )
        .once('error', reject);
    });
    const text = chunks.map((c) => c.text).join('');
    expect(text).toMatch(/step 1\/30[\s\S]*step 30\/30[\s\S]*stored artifacts\/sample\.aab/);
    // Lines arrived over time, not in one piece at the end.
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks[chunks.length - 1].at - chunks[0].at).toBeGreaterThan(2_000);
  } finally {
    server.close();
  }
  expect((await waitForBuildEnd(stack.app, KEYS.alice, jobId)).status).toBe('completed');
});

describe('bad input', () => {
  const post = (body: unknown) =>
    request(stack.app)
      .post('/api/v1/jobs/publishing-builds')
      .set(auth(KEYS.alice))
      .send(body as object);
  const base = {
    projectId: 'sample',
    platform: 'android',
    source: { git: 'https://github.com/example/app.git' },
    version: '1.4.0',
    buildNumber: 5,
  };
  const fieldsOf = (res: request.Response) =>
    (res.body.error.fields as { field: string; message: string }[]).map((f) => `${f.field}: ${f.message}`).join('\n');

  test.each([
    [{ ...base, projectId: undefined }, /projectId: is required/],
    [{ ...base, platform: 'windows' }, /platform: must be one of: ios, android/],
    [{ ...base, source: { svn: 'x' } }, /source: must be \{"git"/],
    [{ ...base, source: { git: 'https://evil.example.com/app.git' } }, /source\.git: host evil\.example\.com is not allowed/],
    [{ ...base, source: { git: 'ssh://github.com/a/b.git' } }, /source\.git: must be an https:\/\/ or file:\/\/ URL/],
    [{ ...base, source: { git: 'https://user:pw@github.com/a/b.git' } }, /source\.git: must not carry credentials/],
    [{ ...base, source: { path: '/etc' } }, /source\.path: must be under one of the source roots/],
    [{ ...base, source: { git: 'https://github.com/a/b.git', ref: '--upload-pack=x' } }, /source\.ref: must be a branch or tag name/],
    [{ ...base, version: '1.4' }, /version: must be MAJOR\.MINOR\.PATCH/],
    [{ ...base, buildNumber: 0 }, /buildNumber: must be positive/],
    [{ ...base, buildNumber: 1.5 }, /buildNumber: must be a whole number/],
    [{ ...base, rollout: 1.5 }, /rollout: must be at most 1/],
    [{ ...base, rollout: 0 }, /rollout: must be more than 0/],
    [{ ...base, platform: 'ios', track: 'beta' }, /track: applies to android only/],
  ])('%j → 400', async (body, message) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(fieldsOf(res)).toMatch(message);
  });
});
