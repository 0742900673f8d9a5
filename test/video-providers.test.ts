import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDownloadActivity, DownloadVideoOutput } from '../src/activities/video-generation/download-video';
import { toProviderFailure } from '../src/activities/video-generation/provider-failure';
import { createVideoProvider } from '../src/activities/video-generation/providers';
import { ProviderHttpError } from '../src/net/provider-errors';
import { loadConfig } from '../src/config/env';
import { buildMp4, topLevelBoxes } from '../src/emulator/mp4';
import { ProviderEmulator, startProviderEmulator } from '../src/emulator/server';
import { jobFileKey } from '../src/shared/urls';
import type { VideoRequest } from '../src/workflows/video-generation/contract';
import { testConfig, testDeps } from './harness/temporal';
import { videoTestEnv } from './fixtures/video-jobs';

// The provider clients against the emulator over real HTTP, and how their errors become
// Temporal failures. No Temporal server needed.

let emulator: ProviderEmulator;
beforeAll(async () => {
  emulator = await startProviderEmulator({ generationMs: 300 });
});
afterAll(async () => {
  await emulator?.close();
});
beforeEach(() => {
  emulator.clearFaults();
  emulator.resetStats();
});

const SORA: VideoRequest = { prompt: 'A kite over dunes', model: 'sora-2', seconds: 4, size: '1280x720' };
const VEO: VideoRequest = {
  prompt: 'A kite over dunes',
  model: 'veo-3.1-generate-preview',
  seconds: 8,
  aspectRatio: '16:9',
  resolution: '720p',
};
const config = () => testConfig(videoTestEnv(emulator));

async function failureOf(p: Promise<unknown>, provider = 'sora', action = 'start'): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (e) {
    return toProviderFailure(e, provider, action) as ApplicationFailure;
  }
  throw new Error('expected a failure');
}

async function waitUntilDone(provider: ReturnType<typeof createVideoProvider>, id: string) {
  for (;;) {
    const state = await provider.status(id);
    if (state.status === 'completed' || state.status === 'failed') return state;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('the emulator MP4 is a real, small ISO-BMFF file: ftyp first, then moov and mdat', () => {
  const file = buildMp4({ seconds: 8 });
  expect(topLevelBoxes(file)).toEqual(['ftyp', 'moov', 'mdat']);
  expect(file.length).toBeGreaterThan(1_000);
  expect(file.length).toBeLessThan(20_000);
  expect(file.includes(Buffer.from('avcC'))).toBe(true);
});

test('OpenAI client: create with an Idempotency-Key twice → one generation; status, download and delete', async () => {
  const sora = createVideoProvider('sora', config());
  const a = await sora.start(SORA, { idempotencyKey: 'job-1' });
  const b = await sora.start(SORA, { idempotencyKey: 'job-1' });
  expect(b.providerJobId).toBe(a.providerJobId);
  expect(a.state.status).toBe('queued');
  expect(emulator.stats()).toMatchObject({ creations: { openai: 1, total: 1 }, idempotentReplays: 1 });
  expect(await waitUntilDone(sora, a.providerJobId)).toEqual({ status: 'completed', percent: 100 });
  const download = await sora.download(a.providerJobId);
  expect(download.contentType).toBe('video/mp4');
  const chunks: Buffer[] = [];
  for await (const c of download.body) chunks.push(c as Buffer);
  expect(topLevelBoxes(Buffer.concat(chunks))).toEqual(['ftyp', 'moov', 'mdat']);
  expect(await sora.cancel(a.providerJobId)).toBe('deleted');
  expect(await sora.cancel(a.providerJobId)).toBe('gone');
  expect(emulator.stats().deletions).toBe(1);
});

test('Gemini client: predictLongRunning operation → done with a file URI; failures carry the provider message', async () => {
  const veo = createVideoProvider('veo', config());
  const started = await veo.start(VEO, { idempotencyKey: 'job-2' });
  expect(started.providerJobId).toMatch(/^models\/veo-3\.1-generate-preview\/operations\/\w+$/);
  expect(await waitUntilDone(veo, started.providerJobId)).toMatchObject({ status: 'completed' });
  const failing = await veo.start({ ...VEO, prompt: 'x [fail:quota of imagination exceeded]' }, { idempotencyKey: 'job-3' });
  expect(await waitUntilDone(veo, failing.providerJobId)).toEqual({
    status: 'failed',
    error: { code: '13', message: 'quota of imagination exceeded' },
  });
  expect(emulator.stats().creations.gemini).toBe(2);
});

test('content-policy refusals and other 4xx are permanent and keep the provider message; 429/5xx retry after Retry-After', async () => {
  const sora = createVideoProvider('sora', config());
  const veo = createVideoProvider('veo', config());

  const policy = await failureOf(sora.start({ ...SORA, prompt: 'bad [policy]' }, { idempotencyKey: 'p1' }));
  expect(policy).toMatchObject({ type: 'ProviderContentPolicy', nonRetryable: true });
  expect(policy.message).toContain('Your request was blocked by our moderation system');
  const veoPolicy = await failureOf(veo.start({ ...VEO, prompt: 'bad [policy]' }, { idempotencyKey: 'p2' }), 'veo');
  expect(veoPolicy).toMatchObject({ type: 'ProviderContentPolicy', nonRetryable: true });
  expect(veoPolicy.message).toContain('usage guidelines');

  const badValue = await failureOf(sora.start({ ...SORA, seconds: 5 }, { idempotencyKey: 'p3' }));
  expect(badValue).toMatchObject({ type: 'ProviderRejected', nonRetryable: true });
  expect(badValue.message).toMatch(/Invalid value: '5'/);

  emulator.addFault({ route: 'create', status: 429, retryAfterSeconds: 7, times: 1 });
  const limited = await failureOf(sora.start(SORA, { idempotencyKey: 'p4' }));
  expect(limited).toMatchObject({ type: 'ProviderRateLimited', nonRetryable: false, nextRetryDelay: 7_000 });

  emulator.addFault({ api: 'gemini', route: 'status', status: 503, retryAfterSeconds: 2, times: 1 });
  const unavailable = await failureOf(veo.status('models/veo-3.1-generate-preview/operations/abc'), 'veo', 'status');
  expect(unavailable).toMatchObject({ type: 'ProviderUnavailable', nonRetryable: false, nextRetryDelay: 2_000 });

  const unknownVideo = await failureOf(sora.status('video_doesnotexist'), 'sora', 'status');
  expect(unknownVideo).toMatchObject({ type: 'ProviderRejected', nonRetryable: true });

  // A real provider without its key fails permanently, naming the variable.
  expect(() => createVideoProvider('sora', { ...config(), OPENAI_API_KEY: undefined })).toThrow(/OPENAI_API_KEY/);
  expect(() => createVideoProvider('veo', { ...config(), GEMINI_API_KEY: undefined })).toThrow(/GEMINI_API_KEY/);
  expect(emulator.stats().creations.total).toBe(0);
});

test('latency faults delay answers; the control API adds faults and reports counters over HTTP', async () => {
  const res = await fetch(`${emulator.url}/_emulator/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ route: 'status', latencyMs: 300, times: 1 }),
  });
  expect(res.status).toBe(201);
  const sora = createVideoProvider('sora', config());
  const started = await sora.start(SORA, { idempotencyKey: 'lat-1' });
  const t0 = Date.now();
  await sora.status(started.providerJobId);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  const stats = (await (await fetch(`${emulator.url}/_emulator/stats`)).json()) as { creations: { total: number } };
  expect(stats.creations.total).toBe(1);
});

test('a download from a host that is neither the configured provider host nor allowed is refused by the SSRF guard', async () => {
  // Veo configured at "localhost"; the operation's file URI names 127.0.0.1, which nothing allows.
  const cfg = loadConfig({
    ...videoTestEnv(emulator),
    GEMINI_BASE_URL: emulator.geminiBaseUrl.replace('127.0.0.1', 'localhost'),
    OUTBOUND_ALLOW_HOSTS: '',
  });
  const veo = createVideoProvider('veo', cfg);
  const started = await veo.start(VEO, { idempotencyKey: 'ssrf-1' });
  await waitUntilDone(veo, started.providerJobId);
  const refused = await failureOf(veo.download(started.providerJobId), 'veo', 'download');
  expect(refused).toMatchObject({ type: 'ProviderTargetBlocked', nonRetryable: true });
  expect(refused.message).toMatch(/127\.0\.0\.1/);
});

test("the Gemini API key goes only to GEMINI_BASE_URL's origin, not to an origin the operation names", async () => {
  // Veo configured at "localhost"; the finished operation's file URI names 127.0.0.1 (allowed, so reachable).
  const cfg = loadConfig({
    ...videoTestEnv(emulator),
    GEMINI_BASE_URL: emulator.geminiBaseUrl.replace('127.0.0.1', 'localhost'),
    OUTBOUND_ALLOW_HOSTS: '127.0.0.1',
  });
  const veo = createVideoProvider('veo', cfg);
  const started = await veo.start(VEO, { idempotencyKey: 'origin-1' });
  await waitUntilDone(veo, started.providerJobId);
  // Sent without the key, the download is refused by the emulator, which requires one.
  const refused = await failureOf(veo.download(started.providerJobId), 'veo', 'download');
  expect(refused).toMatchObject({ type: 'ProviderAuthFailed', nonRetryable: true });
  expect(refused.message).toMatch(/HTTP 403/);
  // The same file from the configured origin carries the key and downloads.
  const sameOrigin = createVideoProvider('veo', config());
  const download = await sameOrigin.download(started.providerJobId);
  const chunks: Buffer[] = [];
  for await (const c of download.body) chunks.push(c as Buffer);
  expect(topLevelBoxes(Buffer.concat(chunks))[0]).toBe('ftyp');
});

test('a video larger than VIDEO_MAX_BYTES fails the download permanently and stores nothing', async () => {
  const cfg = testConfig({ ...videoTestEnv(emulator), VIDEO_MAX_BYTES: '1kb' });
  expect(testConfig(videoTestEnv(emulator)).VIDEO_MAX_BYTES).toBe(512 * 1024 * 1024);
  const deps = testDeps(cfg);
  const sora = createVideoProvider('emulator', cfg);
  const started = await sora.start(SORA, { idempotencyKey: 'big-1' });
  await waitUntilDone(sora, started.providerJobId);
  const env = new MockActivityEnvironment();
  const run = env.run(createDownloadActivity(deps).downloadVideo, {
    jobId: 'job-big',
    provider: 'emulator' as const,
    providerJobId: started.providerJobId,
  });
  await expect(run).rejects.toMatchObject({
    type: 'ProviderVideoTooLarge',
    nonRetryable: true,
    message: expect.stringMatching(/larger than VIDEO_MAX_BYTES \(1024 bytes\)/),
  });
  expect(await deps.store.stat(jobFileKey('job-big', 'videos/job-big.mp4'))).toBeNull();
});

test('downloadVideo streams into blob storage at jobs/<jobId>/videos/<jobId>.mp4 and heartbeats the bytes', async () => {
  const cfg = config();
  const deps = testDeps(cfg);
  const sora = createVideoProvider('emulator', cfg);
  const started = await sora.start(SORA, { idempotencyKey: 'dl-1' });
  await waitUntilDone(sora, started.providerJobId);

  const env = new MockActivityEnvironment();
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  const out: DownloadVideoOutput = await env.run(createDownloadActivity(deps).downloadVideo, {
    jobId: 'job-dl',
    provider: 'emulator' as const,
    providerJobId: started.providerJobId,
  });
  expect(out.file).toBe('videos/job-dl.mp4');
  expect(out.downloadUrl).toBe(`${cfg.publicUrl}/api/v1/jobs/job-dl/files/videos/job-dl.mp4`);
  const stored = await deps.store.getBuffer(jobFileKey('job-dl', 'videos/job-dl.mp4'));
  expect(stored.length).toBe(out.bytes);
  expect(topLevelBoxes(stored)[0]).toBe('ftyp');
  expect(beats[beats.length - 1]).toEqual({ bytes: out.bytes });
  expect((await deps.store.stat(jobFileKey('job-dl', 'videos/job-dl.mp4')))?.contentType).toBe('video/mp4');
});

test('ProviderHttpError without a provider body still maps by status', () => {
  const f = toProviderFailure(new ProviderHttpError(502, 'HTTP 502 from x', undefined, undefined), 'sora', 'status') as ApplicationFailure;
  expect(f).toMatchObject({ type: 'ProviderUnavailable', nonRetryable: false });
});
