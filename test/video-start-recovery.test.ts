import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CREATED_AT_SLACK_MS, createVideoStartActivities, StartVideoOutput } from '../src/activities/video-generation/start-generation';
import { createVideoProvider } from '../src/activities/video-generation/providers';
import type { VideoRequest } from '../src/workflows/video-generation/contract';
import { KEYS, testClient, testConfig, testDeps } from './harness/temporal';
import { startVideoJob, startVideoStack, VideoStack, videoTestEnv, waitForVideoJobEnd } from './fixtures/video-jobs';

// OpenAI's video API ignores Idempotency-Key, so a create that succeeded after our client gave
// up must be found again rather than paid for twice. The emulator here behaves like OpenAI
// (ignores the key) and can answer a create only after the client's timeout.

let client: Client;
let stack: VideoStack;

beforeAll(async () => {
  client = await testClient();
  // FETCH_TIMEOUT is the create call's timeout: 1 s, so a create answered after 2.5 s is lost to the client.
  stack = await startVideoStack(client, { generationMs: 1_000, emulator: { honourIdempotencyKey: false }, env: { FETCH_TIMEOUT: '1s' } });
});
afterAll(async () => {
  await stack?.close();
  await client?.connection.close();
});
beforeEach(() => {
  stack.emulator.clearFaults();
  stack.emulator.resetStats();
});

const SORA: VideoRequest = { prompt: 'A heron lands on a misty pond', model: 'sora-2', seconds: 4, size: '1280x720' };

test('a create that succeeded at the provider after our timeout does not produce a second generation', async () => {
  stack.emulator.addFault({ api: 'openai', route: 'create', lateAnswerMs: 2_500, times: 1 });
  const { jobId } = await startVideoJob(stack.app, KEYS.alice, {
    prompt: 'A paper crane unfolds itself',
    provider: 'sora',
    seconds: 4,
    size: '1280x720',
  });
  const job = await waitForVideoJobEnd(stack.app, KEYS.alice, jobId);
  expect(job.status).toBe('completed');
  // The first attempt timed out; the second found the generation instead of creating one.
  const history = await client.workflow.getHandle(jobId).fetchHistory();
  const startAttempts = history
    .events!.filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => e.activityTaskStartedEventAttributes!.attempt);
  expect(startAttempts).toContain(2);
  expect(stack.emulator.stats()).toMatchObject({ creations: { openai: 1, total: 1 }, completed: 1, inFlight: 0 });
});

test('the emulator, like OpenAI, ignores Idempotency-Key in this setup: two creates are two generations', async () => {
  const sora = createVideoProvider('sora', stack.config);
  const a = await sora.start(SORA, { idempotencyKey: 'same-key' });
  const b = await sora.start(SORA, { idempotencyKey: 'same-key' });
  expect(b.providerJobId).not.toBe(a.providerJobId);
  expect(stack.emulator.stats().creations.openai).toBe(2);
});

describe('startVideoGeneration on a later attempt', () => {
  const run = (attempt: number, scheduledTimestampMs: number, request: VideoRequest): Promise<StartVideoOutput> => {
    const { startVideoGeneration } = createVideoStartActivities(testDeps(testConfig(videoTestEnv(stack.emulator))));
    return new MockActivityEnvironment({ attempt, scheduledTimestampMs }).run(startVideoGeneration, {
      jobId: `job-${attempt}`,
      provider: 'sora' as const,
      request,
      idempotencyKey: 'k',
    });
  };
  const nextSecond = () => new Promise((r) => setTimeout(r, 1_100 - (Date.now() % 1000)));

  test('keeps the oldest generation of its earlier attempts, stops the extra one, leaves older and different ones alone', async () => {
    const sora = createVideoProvider('sora', stack.config);
    const request = { ...SORA, prompt: `${SORA.prompt} [gen:60000]` };
    const olderIdentical = await sora.start(request, { idempotencyKey: 'x' });
    // The job's first attempt is scheduled now; earlier generations fall outside the window.
    await new Promise((r) => setTimeout(r, CREATED_AT_SLACK_MS + 1_000));
    await nextSecond();
    const firstScheduled = Date.now();
    const different = await sora.start({ ...request, seconds: 8 }, { idempotencyKey: 'x' });
    const first = await sora.start(request, { idempotencyKey: 'k' });
    const second = await sora.start(request, { idempotencyKey: 'k' });
    stack.emulator.resetStats();

    const adopted = await run(3, firstScheduled, request);
    expect(adopted.providerJobId).toBe(first.providerJobId);
    expect(stack.emulator.stats()).toMatchObject({ creations: { total: 0 }, deletions: 1 });
    expect(await sora.status(second.providerJobId).catch((e: Error) => e.message)).toMatch(/not found/);
    for (const untouched of [olderIdentical, different, first])
      expect((await sora.status(untouched.providerJobId)).status).not.toBe('failed');
    for (const g of [olderIdentical, different, first]) await sora.cancel(g.providerJobId);
  }, 60_000);

  test('creates when no earlier attempt left a generation, and on a first attempt does not look', async () => {
    const request = { ...SORA, prompt: 'A lone kayak at dawn' };
    const created = await run(2, Date.now(), request);
    expect(stack.emulator.stats().creations.total).toBe(1);
    const fresh = await run(1, Date.now() - 60_000, request);
    expect(fresh.providerJobId).not.toBe(created.providerJobId);
    expect(stack.emulator.stats().creations.total).toBe(2);
  });
});
