import request from 'supertest';
import type { Client } from '@temporalio/client';
import { topLevelBoxes } from '../src/emulator/mp4';
import { JOB_OUTCOME } from '../src/shared/search-attributes';
import { testApp } from './harness/api';
import { KEYS, testClient, waitFor } from './harness/temporal';
import { startWebhookReceiver, WebhookReceiver } from './fixtures/webhook-receiver';
import {
  auth,
  downloadThroughApi,
  getVideoJob,
  startVideoJob,
  startVideoStack,
  VideoStack,
  waitForVideoJobEnd,
} from './fixtures/video-jobs';

// The video generation job end to end: the real API and workers on a real dev server, the
// provider emulator reached through the real OpenAI and Gemini clients.

let client: Client;
let stack: VideoStack;
let receiver: WebhookReceiver;

beforeAll(async () => {
  client = await testClient();
  receiver = await startWebhookReceiver();
  stack = await startVideoStack(client, { generationMs: 1_500 });
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
  await client?.connection.close();
});
beforeEach(() => {
  stack.emulator.clearFaults();
  stack.emulator.resetStats();
});

const outcomeOf = async (jobId: string) => (await client.workflow.getHandle(jobId).describe()).typedSearchAttributes.get(JOB_OUTCOME);

describe('happy path', () => {
  test('emulator (OpenAI API): a stored, downloadable MP4; the webhook carries the download URL; the Idempotency-Key returns the same job', async () => {
    const body = { prompt: 'A red fox runs through fresh snow', webhookUrl: receiver.url('/video') };
    const first = await request(stack.app)
      .post('/api/v1/jobs/video-generations')
      .set(auth(KEYS.alice))
      .set('Idempotency-Key', 'fox-1')
      .send(body);
    expect(first.status).toBe(202);
    const again = await request(stack.app)
      .post('/api/v1/jobs/video-generations')
      .set(auth(KEYS.alice))
      .set('Idempotency-Key', 'fox-1')
      .send(body);
    expect(again.status).toBe(202);
    expect(again.body.jobId).toBe(first.body.jobId);
    expect(again.body.existing).toBe(true);
    const jobId = first.body.jobId as string;

    const running = await waitFor(async () => {
      const job = await getVideoJob(stack.app, KEYS.alice, jobId);
      return job.progress?.phase === 'generating' || job.status !== 'running' ? job : undefined;
    }, 'the generation to start');
    if (running.status === 'running')
      expect(running.progress).toMatchObject({ provider: 'emulator', providerJobId: expect.stringMatching(/^video_/) });

    const job = await waitForVideoJobEnd(stack.app, KEYS.alice, jobId);
    expect(job.status).toBe('completed');
    const result = job.result!;
    expect(result).toMatchObject({ status: 'completed', provider: 'emulator', model: 'sora-2', seconds: 4, file: `videos/${jobId}.mp4` });
    expect(result.providerJobId).toMatch(/^video_/);
    expect(result.downloadUrl).toBe(`${stack.config.publicUrl}/api/v1/jobs/${jobId}/files/videos/${jobId}.mp4`);

    const file = await downloadThroughApi(stack.app, KEYS.alice, result.downloadUrl);
    expect(file.status).toBe(200);
    expect(file.type).toBe('video/mp4');
    expect(file.body.length).toBe(result.bytes);
    expect(file.body.toString('latin1', 4, 8)).toBe('ftyp');
    expect(topLevelBoxes(file.body)).toEqual(['ftyp', 'moov', 'mdat']);
    // Another owner cannot see it.
    expect((await downloadThroughApi(stack.app, KEYS.bob, result.downloadUrl)).status).toBe(404);

    expect(stack.emulator.stats().creations.total).toBe(1);
    expect(await outcomeOf(jobId)).toBe('completed');

    const hook = await waitFor(() => receiver.received.find((r) => r.path === '/video'), 'the webhook');
    const payload = JSON.parse(hook.body);
    expect(payload).toMatchObject({
      type: 'job.completed',
      data: { jobId, type: 'video-generation', status: 'completed', result: { downloadUrl: result.downloadUrl, bytes: result.bytes } },
    });
  });

  test('veo through the Gemini API client: long-running operation, file download', async () => {
    const { jobId } = await startVideoJob(stack.app, KEYS.alice, {
      prompt: 'Waves on a pebble beach at dusk',
      provider: 'veo',
      aspectRatio: '9:16',
      seconds: 6,
    });
    const job = await waitForVideoJobEnd(stack.app, KEYS.alice, jobId);
    expect(job.status).toBe('completed');
    expect(job.result).toMatchObject({ provider: 'veo', model: 'veo-3.1-generate-preview', seconds: 6 });
    expect(job.result!.providerJobId).toMatch(/^models\/veo-3\.1-generate-preview\/operations\//);
    const file = await downloadThroughApi(stack.app, KEYS.alice, job.result!.downloadUrl);
    expect(topLevelBoxes(file.body)).toEqual(['ftyp', 'moov', 'mdat']);
    expect(stack.emulator.stats().creations).toMatchObject({ gemini: 1, total: 1 });
  });
});

describe('provider trouble', () => {
  test('a 429 storm (create, status and download) is ridden out with Retry-After, and only one generation is created', async () => {
    stack.emulator.addFault({ route: 'create', status: 429, retryAfterSeconds: 1, times: 3 });
    stack.emulator.addFault({ route: 'status', status: 429, retryAfterSeconds: 1, times: 4 });
    stack.emulator.addFault({ route: 'content', status: 503, times: 1 });
    const { jobId } = await startVideoJob(stack.app, KEYS.alice, {
      prompt: 'A lighthouse in a storm',
      provider: 'sora',
      seconds: 8,
      size: '1280x720',
    });
    const job = await waitForVideoJobEnd(stack.app, KEYS.alice, jobId);
    expect(job.status).toBe('completed');
    expect(job.result).toMatchObject({ provider: 'sora', seconds: 8 });
    const stats = stack.emulator.stats();
    expect(stats.faultsInjected).toBe(8);
    expect(stats.creations.total).toBe(1);
  });

  test("a failed generation fails the job with the provider's message", async () => {
    const { jobId } = await startVideoJob(stack.app, KEYS.alice, { prompt: 'A glass cathedral [fail:the scene could not be rendered]' });
    const job = await waitForVideoJobEnd(stack.app, KEYS.alice, jobId);
    expect(job.status).toBe('failed');
    expect(job.error).toContain('the scene could not be rendered');
    expect(await outcomeOf(jobId)).toBe('failed');
    expect(stack.emulator.stats()).toMatchObject({ failed: 1, deletions: 0 });
  });

  test("a content-policy refusal is permanent: failed at once with the provider's message, no generation", async () => {
    const { jobId } = await startVideoJob(stack.app, KEYS.alice, { prompt: 'Something the moderation system refuses [policy]' });
    const job = await waitForVideoJobEnd(stack.app, KEYS.alice, jobId);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/blocked by our moderation system/);
    expect(job.error).toMatch(/HTTP 400 moderation_blocked/);
    expect(stack.emulator.stats().creations.total).toBe(0);
    // One attempt only: the start activity did not retry.
    const history = await client.workflow.getHandle(jobId).fetchHistory();
    const failedStart = history.events!.find((e) => e.activityTaskFailedEventAttributes);
    expect(failedStart?.activityTaskFailedEventAttributes?.retryState).toBe(2 /* RETRY_STATE_NON_RETRYABLE_FAILURE */);
  });

  test('the deadline passing fails the job and stops the generation at the provider', async () => {
    const app = testApp({ ...stack.config, VIDEO_POLL_DEADLINE: 2_000 }, client);
    const { jobId } = await startVideoJob(app, KEYS.alice, { prompt: 'A very slow sunrise [gen:120000]' });
    const job = await waitForVideoJobEnd(app, KEYS.alice, jobId);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/did not finish within 2 s/);
    expect(stack.emulator.stats()).toMatchObject({ deletions: 1, inFlight: 0 });
  });
});

describe('cancel and retry', () => {
  test('cancel mid-poll deletes the provider job; retry starts a new generation with the same input', async () => {
    const { jobId } = await startVideoJob(stack.app, KEYS.alice, {
      prompt: 'A long tracking shot [gen:120000]',
      provider: 'sora',
      size: '720x1280',
    });
    await waitFor(async () => {
      const job = await getVideoJob(stack.app, KEYS.alice, jobId);
      return job.progress?.phase === 'generating' && job.progress.polls >= 1;
    }, 'polling to be under way');
    expect(stack.emulator.stats().inFlight).toBe(1);

    const cancel = await request(stack.app).post(`/api/v1/jobs/${jobId}/cancel`).set(auth(KEYS.alice));
    expect(cancel.status).toBe(202);
    const job = await waitForVideoJobEnd(stack.app, KEYS.alice, jobId);
    expect(job.status).toBe('cancelled');
    expect(await outcomeOf(jobId)).toBe('cancelled');
    expect(stack.emulator.stats()).toMatchObject({ deletions: 1, inFlight: 0, creations: { total: 1 } });

    const retry = await request(stack.app).post(`/api/v1/jobs/${jobId}/retry`).set(auth(KEYS.alice));
    expect(retry.status).toBe(202);
    expect(retry.body.jobId).not.toBe(jobId);
    const again = await request(stack.app).post(`/api/v1/jobs/${jobId}/retry`).set(auth(KEYS.alice));
    expect(again.body.jobId).toBe(retry.body.jobId);
    await waitFor(() => stack.emulator.stats().creations.total === 2, 'the retried job to start a new generation');
    const input = (await client.workflow.getHandle(retry.body.jobId).fetchHistory()).events![0].workflowExecutionStartedEventAttributes!
      .input!.payloads![0];
    expect(JSON.parse(Buffer.from(input.data!).toString('utf8'))).toMatchObject({
      provider: 'sora',
      request: { prompt: 'A long tracking shot [gen:120000]', size: '720x1280' },
    });
    await request(stack.app).post(`/api/v1/jobs/${retry.body.jobId}/cancel`).set(auth(KEYS.alice));
    expect((await waitForVideoJobEnd(stack.app, KEYS.alice, retry.body.jobId)).status).toBe('cancelled');

    const completedRetry = await request(stack.app).post(`/api/v1/jobs/${jobId}/retry`).set(auth(KEYS.alice));
    expect(completedRetry.body.jobId).toBe(retry.body.jobId);
  });
});

describe('bad requests', () => {
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['empty prompt', { prompt: '   ' }, 'prompt', /empty/],
    ['oversize prompt', { prompt: 'x'.repeat(4_001) }, 'prompt', /4,000/],
    ['missing prompt', {}, 'prompt', /string/],
    ['unknown provider', { prompt: 'p', provider: 'runway' }, 'provider', /sora, veo, emulator/],
    ['sora duration', { prompt: 'p', provider: 'sora', seconds: 5 }, 'seconds', /4, 8, 12/],
    ['sora-2 size', { prompt: 'p', provider: 'sora', size: '1792x1024' }, 'size', /720x1280, 1280x720/],
    ['sora model', { prompt: 'p', provider: 'sora', model: 'sora-3' }, 'model', /sora-2, sora-2-pro/],
    ['sora aspect ratio', { prompt: 'p', provider: 'sora', aspectRatio: '16:9' }, 'aspectRatio', /use size/],
    ['veo duration', { prompt: 'p', provider: 'veo', seconds: 12 }, 'seconds', /4, 6, 8/],
    ['veo aspect ratio', { prompt: 'p', provider: 'veo', aspectRatio: '4:3' }, 'aspectRatio', /16:9, 9:16/],
    ['veo 1080p short clip', { prompt: 'p', provider: 'veo', resolution: '1080p', seconds: 4 }, 'seconds', /8 seconds/],
    ['veo size', { prompt: 'p', provider: 'veo', size: '1280x720' }, 'size', /aspectRatio/],
    ['webhook to a metadata address', { prompt: 'p', webhookUrl: 'http://169.254.169.254/latest' }, 'webhookUrl', /refused/],
    ['webhook not a URL', { prompt: 'p', webhookUrl: 'not a url' }, 'webhookUrl', /not a valid URL/],
    ['unknown field', { prompt: 'p', duration: 8 }, 'duration', /^is not a known field$/],
  ];
  test.each(cases)('%s → 400 naming the field', async (_name, body, field, message) => {
    const res = await request(stack.app).post('/api/v1/jobs/video-generations').set(auth(KEYS.alice)).send(body);
    expect(res.status).toBe(400);
    const problem = res.body.error.fields.find((f: { field: string }) => f.field === field);
    expect(problem).toBeDefined();
    expect(problem.message).toMatch(message);
  });

  test('sora-2-pro accepts the tall size; nothing is started for a rejected request', async () => {
    const ok = await request(stack.app)
      .post('/api/v1/jobs/video-generations')
      .set(auth(KEYS.alice))
      .send({ prompt: 'p [gen:120000]', provider: 'sora', model: 'sora-2-pro', size: '1024x1792', seconds: 12 });
    expect(ok.status).toBe(202);
    await request(stack.app).post(`/api/v1/jobs/${ok.body.jobId}/cancel`).set(auth(KEYS.alice));
    expect((await waitForVideoJobEnd(stack.app, KEYS.alice, ok.body.jobId)).status).toBe('cancelled');
  });
});
