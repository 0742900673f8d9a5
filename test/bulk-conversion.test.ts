import JSZip from 'jszip';
import request from 'supertest';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Express } from 'express';
import type { AppConfig } from '../src/config/env';
import { BulkConversionInput, BulkConversionProgress, progressQuery } from '../src/workflows/bulk-conversion/contract';
import { JOB_OUTCOME } from '../src/shared/search-attributes';
import { jobWebhookWorkflowId, WebhookDeliveryInput } from '../src/workflows/webhook-delivery/contract';
import { auth, getJob, readResults, waitForJobEnd } from './fixtures/bulk-jobs';
import { GateSite, startGateSite } from './fixtures/gate-site';
import { startTestSite, TestSite } from './fixtures/test-site';
import { startWebhookReceiver, WebhookReceiver } from './fixtures/webhook-receiver';
import { testApp } from './harness/api';
import { KEYS, RunningWorkers, startWorkers, testClient, testConfig, waitFor } from './harness/temporal';

// The bulk conversion job end to end: the real API, real workers on a real dev server,
// a real local website. Everything is asserted the way a user sees it.

let client: Client;
let site: TestSite;
let receiver: WebhookReceiver;
let config: AppConfig;
let workers: RunningWorkers;
let app: Express;

beforeAll(async () => {
  client = await testClient();
  site = await startTestSite({ slowMs: 8_000, retryAfterSeconds: 1 });
  receiver = await startWebhookReceiver();
  // Short backoff between a URL's attempts; a fetch timeout the slow page exceeds.
  config = testConfig({ CONVERSION_RETRY_INTERVAL: '200ms', FETCH_TIMEOUT: '4s' });
  workers = await startWorkers(config);
  app = testApp(config, client);
});
afterAll(async () => {
  await workers?.shutdown();
  await site?.close();
  await receiver?.close();
  await client?.connection.close();
});

async function startViaApi(body: Record<string, unknown>, key: string = KEYS.alice, headers: Record<string, string> = {}) {
  const res = await request(app).post('/api/v1/jobs/bulk-conversions').set(auth(key)).set(headers).send(body);
  if (res.status !== 202) throw new Error(`start: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { jobId: string; status: string; statusUrl: string; temporalUiUrl: string; existing: boolean };
}

/** What the webhook delivery workflow was asked to send for this job. */
async function webhookInput(jobId: string, sequence = 1): Promise<WebhookDeliveryInput> {
  const history = await client.workflow.getHandle(jobWebhookWorkflowId(jobId, sequence)).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return JSON.parse(Buffer.from(payload!.data!).toString('utf8')) as WebhookDeliveryInput;
}

async function jobStartInput(jobId: string): Promise<BulkConversionInput> {
  const history = await client.workflow.getHandle(jobId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return JSON.parse(Buffer.from(payload!.data!).toString('utf8')) as BulkConversionInput;
}

describe('per-URL outcomes', () => {
  const pages: [path: string, status: 'success' | 'failed', errorMatch?: RegExp][] = [
    ['/good/1', 'success'],
    ['/good/2', 'success'],
    ['/no-title', 'success'],
    ['/redirect', 'success'],
    ['/flaky/bulk', 'success'],
    ['/404', 'failed', /404/],
    ['/500', 'failed', /500/],
    ['/429', 'failed', /429/],
    ['/redirect-loop', 'failed', /redirect/i],
    ['/not-html', 'failed', /content type|application\/pdf/i],
    ['/oversized', 'failed', /larger|too large|exceeds|bytes/i],
    ['/slow', 'failed', /time/i],
  ];

  test('every special page gets the right result; packages download and unzip; the webhook carries the results', async () => {
    const urls = pages.map(([p]) => site.url(p));
    const { jobId, statusUrl, temporalUiUrl } = await startViaApi({ urls, concurrency: 4, webhookUrl: receiver.url('/bulk') });
    expect(statusUrl).toMatch(new RegExp(`/api/v1/jobs/${jobId}$`));
    expect(temporalUiUrl).toContain(`/workflows/${jobId}`);

    const job = await waitForJobEnd(app, KEYS.alice, jobId);
    expect(job.status).toBe('completed_with_errors');
    const result = job.result!;
    expect(result.total).toBe(pages.length);
    expect(result.succeeded).toBe(5);
    expect(result.failed).toBe(pages.length - 5);
    expect(result.successRate).toBeCloseTo(5 / pages.length);
    expect(job.progress).toMatchObject({ total: pages.length, succeeded: 5, failed: pages.length - 5, inFlight: 0, pending: 0 });

    const byUrl = new Map(result.results!.map((r) => [r.url, r]));
    for (const [path, status, errorMatch] of pages) {
      const r = byUrl.get(site.url(path))!;
      expect({ path, status: r.status }).toEqual({ path, status });
      if (status === 'success')
        expect(r.downloadUrl).toMatch(new RegExp(`^${config.publicUrl}/api/v1/jobs/${jobId}/files/artifacts/\\d{6}\\.h5p$`));
      else expect(r.error).toMatch(errorMatch!);
    }
    // Transient failures were retried 3 times; the flaky page recovered on its 3rd request.
    expect(site.requests.get('/500')).toBe(3);
    expect(site.requests.get('/flaky/bulk')).toBe(3);
    expect(site.requests.get('/404')).toBe(1);

    // A package downloads through the API and is a real H5P zip.
    const good = byUrl.get(site.url('/good/1'))!;
    const download = await request(app)
      .get(new URL(good.downloadUrl!).pathname)
      .set(auth(KEYS.alice))
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
    expect(download.status).toBe(200);
    const zip = await JSZip.loadAsync(download.body as Buffer);
    const h5p = JSON.parse(await zip.file('h5p.json')!.async('string'));
    expect(h5p.title).toBe('Good Article 1');
    expect(h5p.mainLibrary).toEqual(expect.any(String));
    expect(h5p.preloadedDependencies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ machineName: h5p.mainLibrary, majorVersion: expect.any(Number), minorVersion: expect.any(Number) }),
      ]),
    );
    const content = await zip.file('content/content.json')!.async('string');
    expect(JSON.parse(content)).toBeTruthy();
    expect(content).not.toMatch(/<script|onclick|javascript:/i);
    const untitled = await JSZip.loadAsync(
      (
        await request(app)
          .get(new URL(byUrl.get(site.url('/no-title'))!.downloadUrl!).pathname)
          .set(auth(KEYS.alice))
          .buffer(true)
          .parse((res, cb) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => cb(null, Buffer.concat(chunks)));
          })
      ).body as Buffer,
    );
    expect(JSON.parse(await untitled.file('h5p.json')!.async('string')).title).toBe('Untitled Heading Article');

    // The full results file lists every URL once, in order.
    const lines = await readResults(config, jobId);
    expect(lines.map((l) => l.url)).toEqual(urls);
    const resultsFile = await request(app).get(new URL(result.resultsUrl).pathname).set(auth(KEYS.alice));
    expect(resultsFile.status).toBe(200);

    // Outcome as a search attribute; the webhook handed to the delivery workflow.
    const description = await client.workflow.getHandle(jobId).describe();
    expect(description.typedSearchAttributes.get(JOB_OUTCOME)).toBe('completed_with_errors');
    const hook = await webhookInput(jobId);
    expect(hook.url).toBe(receiver.url('/bulk'));
    // A Standard Webhooks envelope: completed_with_errors is a job.completed event whose data says so.
    expect(hook.eventType).toBe('job.completed');
    expect(hook.payload).toMatchObject({
      type: 'job.completed',
      timestamp: expect.any(String),
      data: { jobId, type: 'bulk-conversion', status: 'completed_with_errors', successRate: 5 / pages.length },
    });
    expect((hook.payload.data as { results: unknown[] }).results.length).toBe(pages.length);
    const delivered = await waitFor(() => receiver.received.find((h) => h.path === '/bulk' && h.body.includes(jobId)), 'webhook delivery');
    expect(JSON.parse(delivered.body)).toMatchObject({ type: 'job.completed', data: { jobId, status: 'completed_with_errors' } });
  });
});

describe('starting a job', () => {
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    request(app)
      .post('/api/v1/jobs/bulk-conversions')
      .set(auth(KEYS.alice))
      .set(headers)
      .set('Content-Type', 'application/json')
      .send(typeof body === 'string' ? body : JSON.stringify(body));
  // Valid but never fetched: validation fails on another field first.
  const good = () => 'https://example.com/page';

  test.each([
    ['missing urls', {}, 'urls', /required/],
    ['empty urls', { urls: [] }, 'urls', /at least one/],
    ['non-array urls', { urls: 'http://example.com' }, 'urls', /array/],
    ['a non-string URL', { urls: [good(), 42] }, 'urls.1', /string/],
    ['a malformed URL', { urls: [good(), good(), 'not a url'] }, 'urls.2', /not a valid URL/],
    ['a non-http URL', { urls: ['ftp://example.com/file'] }, 'urls.0', /http/],
    ['a blocked target', { urls: [good(), good(), good(), 'http://169.254.169.254/latest/meta-data'] }, 'urls.3', /refused|non-public/],
    ['a private address', { urls: ['http://10.1.2.3/page'] }, 'urls.0', /refused|non-public/],
    ['an unknown format', { urls: [good()], format: 'pdf' }, 'format', /h5p, markdown/],
    ['a malformed webhookUrl', { urls: [good()], webhookUrl: 'nope' }, 'webhookUrl', /valid URL/],
    ['a blocked webhookUrl', { urls: [good()], webhookUrl: 'http://192.168.1.1/hook' }, 'webhookUrl', /refused|non-public/],
    ['concurrency 0', { urls: [good()], concurrency: 0 }, 'concurrency', /at least 1/],
    ['concurrency 201', { urls: [good()], concurrency: 201 }, 'concurrency', /at most 200/],
    ['fractional concurrency', { urls: [good()], concurrency: 1.5 }, 'concurrency', /integer/],
    ['string concurrency', { urls: [good()], concurrency: '20' }, 'concurrency', /integer/],
    ['a body that is not an object', [good()], 'body', /object/],
  ])('%s → 400 naming the field', async (_name, body, field, message) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.fields[0]).toEqual({ field, message: expect.stringMatching(message) });
  });

  test('malformed JSON → 400; a bad Idempotency-Key → 400', async () => {
    const malformed = await post('{"urls": [');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('malformed_json');
    const badKey = await post({ urls: [good()] }, { 'Idempotency-Key': 'has spaces in it' });
    expect(badKey.status).toBe(400);
    expect(badKey.body.error.fields[0].field).toBe('Idempotency-Key');
  });

  test('more than 100,000 URLs → 400; exactly 100,000 fit the body limit of this route while other routes keep 1 MB', async () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `https://example.com/course/page/${i}`);
    const tooMany = await post({ urls: many(100_001), concurrency: 0 });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.fields).toEqual(
      expect.arrayContaining([{ field: 'urls', message: expect.stringMatching(/at most 100,000/) }]),
    );
    // Valid list of 100,000 (≈4 MB) with one bad field: parsed and validated, not refused for size.
    const big = await post({ urls: many(100_000), concurrency: 0 });
    expect(big.status).toBe(400);
    expect(big.body.error.fields).toEqual([{ field: 'concurrency', message: expect.any(String) }]);
    const elsewhere = await request(app)
      .post('/api/v1/jobs/x/retry')
      .set(auth(KEYS.alice))
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ pad: 'x'.repeat(1_100_000) }));
    expect(elsewhere.status).toBe(413);
  });

  test('many bad URLs: the first 20 are named, the rest counted', async () => {
    const res = await post({ urls: Array.from({ length: 50 }, () => 'nope') });
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toHaveLength(20);
    expect(res.body.error.fields[19].field).toBe('urls.19');
    expect(res.body.error.message).toMatch(/30 more invalid URLs/);
  });

  test('the same Idempotency-Key from the same owner returns the same job and starts one run; another owner gets their own', async () => {
    const key = `idem-${Date.now()}`;
    const body = { urls: [site.url('/good/3')], format: 'markdown' };
    const [first, second] = await Promise.all([
      startViaApi(body, KEYS.alice, { 'Idempotency-Key': key }),
      startViaApi(body, KEYS.alice, { 'Idempotency-Key': key }),
    ]);
    expect(second.jobId).toBe(first.jobId);
    await waitForJobEnd(app, KEYS.alice, first.jobId);
    const third = await startViaApi(body, KEYS.alice, { 'Idempotency-Key': key });
    expect(third).toMatchObject({ jobId: first.jobId, existing: true, status: 'completed' });
    const runs = await client.workflow.count(`WorkflowId = "${first.jobId}"`);
    expect(runs.count).toBe(1);
    const bobs = await startViaApi(body, KEYS.bob, { 'Idempotency-Key': key });
    expect(bobs.jobId).not.toBe(first.jobId);
    await waitForJobEnd(app, KEYS.bob, bobs.jobId);
  });

  test('1,000 URLs of 2,000 CJK characters (over 2 MB inline) start as a stored manifest, not a 5xx', async () => {
    const long = '文'.repeat(2_000);
    const urls = Array.from({ length: 1_000 }, (_, i) => `${site.url('/page/cjk')}-${i}?q=${long}`);
    const res = await post({ urls, format: 'markdown' });
    expect(res.status).toBe(202);
    const started = await jobStartInput(res.body.jobId);
    expect(started.source).toMatchObject({ count: 1_000, manifestPath: expect.stringMatching(/^input\/urls-[0-9a-f]{32}\.jsonl$/) });
    await client.workflow.getHandle(res.body.jobId).cancel();
  });

  test('the same Idempotency-Key with a different body is refused with 422 naming the key, and the first job is untouched', async () => {
    const key = `idem-diff-${Date.now()}`;
    const first = await startViaApi({ urls: [site.url('/good/6')], format: 'markdown' }, KEYS.alice, { 'Idempotency-Key': key });
    const other = await post({ urls: [site.url('/good/7')], format: 'markdown' }, { 'Idempotency-Key': key });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    expect(other.body.error.message).toContain(key);
    expect(other.body.error.fields).toEqual([{ field: 'Idempotency-Key', message: 'already used with a different request' }]);
    const job = await waitForJobEnd(app, KEYS.alice, first.jobId);
    expect(job.result!.results!.map((r) => r.url)).toEqual([site.url('/good/6')]);
  });

  test('two concurrent requests with one key and different lists of over 1,000 URLs: one job, converting exactly one of the lists', async () => {
    const key = `idem-big-${Date.now()}`;
    const list = (tag: string) => Array.from({ length: 1_100 }, (_, i) => site.url(`/page/${tag}-${i}`));
    const [a, b] = await Promise.all([
      post({ urls: list('a'), format: 'markdown', concurrency: 50 }, { 'Idempotency-Key': key }),
      post({ urls: list('b'), format: 'markdown', concurrency: 50 }, { 'Idempotency-Key': key }),
    ]);
    expect([a.status, b.status].sort()).toEqual([202, 422]);
    const winner = a.status === 202 ? 'a' : 'b';
    const jobId = (a.status === 202 ? a : b).body.jobId as string;
    const job = await waitForJobEnd(app, KEYS.alice, jobId, 120_000);
    expect(job.result!.total).toBe(1_100);
    const urls = (await readResults(config, jobId)).map((r) => r.url);
    expect(new Set(urls)).toEqual(new Set(list(winner)));
  });
});

describe('markdown, owners and listing', () => {
  test("a markdown job; bob cannot see alice's job or its files; the list filters by type and status", async () => {
    const { jobId } = await startViaApi({ urls: [site.url('/good/4'), site.url('/404')], format: 'markdown' });
    const job = await waitForJobEnd(app, KEYS.alice, jobId);
    expect(job.status).toBe('completed_with_errors');
    const ok = job.result!.results!.find((r) => r.status === 'success')!;
    expect(ok.downloadUrl).toMatch(/\.md$/);
    const md = await request(app).get(new URL(ok.downloadUrl!).pathname).set(auth(KEYS.alice));
    expect(md.status).toBe(200);
    expect(md.text).toMatch(/^# Good Article 4/m);
    expect(md.text).not.toMatch(/<script|javascript:/i);

    // Bob sees none of it: not the job, not its files, no cancel or retry.
    for (const req of [
      request(app).get(`/api/v1/jobs/${jobId}`),
      request(app).get(new URL(ok.downloadUrl!).pathname),
      request(app).get(new URL(job.result!.resultsUrl).pathname),
      request(app).post(`/api/v1/jobs/${jobId}/cancel`),
      request(app).post(`/api/v1/jobs/${jobId}/retry`),
    ]) {
      const res = await req.set(auth(KEYS.bob));
      expect(res.status).toBe(404);
    }

    const listed = await waitFor(async () => {
      const res = await request(app).get('/api/v1/jobs?type=bulk-conversion&status=completed_with_errors').set(auth(KEYS.alice));
      return res.body.jobs.some((j: { jobId: string }) => j.jobId === jobId) ? res.body : undefined;
    }, 'the job in the filtered list');
    expect(
      listed.jobs.every(
        (j: { type: string; status: string; owner: string }) =>
          j.type === 'bulk-conversion' && j.status === 'completed_with_errors' && j.owner === 'alice',
      ),
    ).toBe(true);
    const running = await request(app).get('/api/v1/jobs?status=running').set(auth(KEYS.alice));
    expect(running.body.jobs.some((j: { jobId: string }) => j.jobId === jobId)).toBe(false);
    const bobList = await request(app).get('/api/v1/jobs?type=bulk-conversion').set(auth(KEYS.bob));
    expect(bobList.body.jobs.some((j: { jobId: string }) => j.jobId === jobId)).toBe(false);
  });
});

describe('history of a one-URL job', () => {
  test('15 events: the chunk runs as an activity, the finalize as a local activity in the same workflow task as the end', async () => {
    const { jobId } = await startViaApi({ urls: [site.url('/good/1')], format: 'markdown' });
    const job = await waitForJobEnd(app, KEYS.alice, jobId);
    expect(job.status).toBe('completed');
    expect(job.result!.results!.map((r) => r.status)).toEqual(['success']);

    const history = await client.workflow.getHandle(jobId).fetchHistory();
    const events = (history.events ?? []).map((e) => {
      const name = temporal.api.enums.v1.EventType[e.eventType ?? 0].replace(/^EVENT_TYPE_/, '');
      const activity = e.activityTaskScheduledEventAttributes?.activityType?.name;
      return activity ? `${name} ${activity}` : name;
    });
    expect(events).toEqual([
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'ACTIVITY_TASK_SCHEDULED convertChunk',
      'ACTIVITY_TASK_STARTED',
      'ACTIVITY_TASK_COMPLETED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'MARKER_RECORDED', // patch local-finalize-small-jobs…
      'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES', // …and its TemporalChangeVersion
      'MARKER_RECORDED', // local activity finalizeBulkConversion
      'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES',
      'WORKFLOW_EXECUTION_COMPLETED',
    ]);
  });
});

describe('retrying failed URLs', () => {
  let gate: GateSite;
  beforeEach(async () => {
    gate = await startGateSite();
  });
  afterEach(async () => {
    await gate.close();
  });

  test('retryFailed while running re-runs only the failed URLs once the site is fixed', async () => {
    const broken = Array.from({ length: 6 }, (_, i) => `/page/retry-${i}`);
    site.setBroken('/page/retry-*', true, 404);
    const urls = [site.url('/good/5'), ...broken.map((p) => site.url(p)), gate.url('/hold')];
    const { jobId } = await startViaApi({ urls, concurrency: 3 });

    // The gate keeps the job running; the broken pages fail permanently meanwhile.
    const handle = client.workflow.getHandle(jobId);
    await waitFor(async () => {
      const p = await handle.query(progressQuery);
      return p.failed === broken.length && p.succeeded === 1 ? p : undefined;
    }, 'live progress to show the failures');
    const live = await getJob(app, KEYS.alice, jobId);
    expect(live.status).toBe('running');
    expect(live.progress).toEqual({ total: urls.length, succeeded: 1, failed: broken.length, inFlight: 1, pending: 0 });

    site.setBroken('/page/retry-*', false);
    const retry = await request(app).post(`/api/v1/jobs/${jobId}/retry`).set(auth(KEYS.alice));
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual({ jobId, status: 'retrying', retrying: broken.length });
    gate.open();

    const job = await waitForJobEnd(app, KEYS.alice, jobId);
    expect(job.status).toBe('completed');
    expect(job.result).toMatchObject({ total: urls.length, succeeded: urls.length, failed: 0, successRate: 1 });
    // Each broken page was fetched once failing and once fixed; the good page only once.
    for (const p of broken) expect(site.requests.get(p)).toBe(2);
    expect(site.requests.get('/good/5')).toBeGreaterThanOrEqual(1);
    const lines = await readResults(config, jobId);
    expect(lines.map((l) => l.index)).toEqual(urls.map((_, i) => i));
    expect(lines.every((l) => l.status === 'success')).toBe(true);
  });

  test('retry after the end starts one new job over the failed URLs', async () => {
    site.setBroken('/page/again-1', true, 404);
    const urls = [site.url('/good/1'), site.url('/page/again-1'), site.url('/page/again-2')];
    const { jobId } = await startViaApi({ urls, format: 'markdown', concurrency: 2 });
    const first = await waitForJobEnd(app, KEYS.alice, jobId);
    expect(first.status).toBe('completed_with_errors');

    site.setBroken('/page/again-1', false);
    const retry = await request(app).post(`/api/v1/jobs/${jobId}/retry`).set(auth(KEYS.alice));
    expect(retry.status).toBe(202);
    expect(retry.body.jobId).not.toBe(jobId);
    expect(retry.body.status).toBe('running');
    const again = await request(app).post(`/api/v1/jobs/${jobId}/retry`).set(auth(KEYS.alice));
    expect(again.body.jobId).toBe(retry.body.jobId);

    const second = await waitForJobEnd(app, KEYS.alice, retry.body.jobId);
    expect(second.status).toBe('completed');
    expect(second.result!.results!.map((r) => r.url)).toEqual([site.url('/page/again-1')]);
    expect(second.result!.results![0].downloadUrl).toMatch(/\.md$/);

    const nothing = await request(app).post(`/api/v1/jobs/${retry.body.jobId}/retry`).set(auth(KEYS.alice));
    expect(nothing.status).toBe(409);
  });
});

describe('cancelling', () => {
  let gate: GateSite;
  beforeEach(async () => {
    gate = await startGateSite();
  });
  afterEach(async () => {
    await gate.close();
  });

  async function startHeldJob(concurrency: number) {
    const urls = [site.url('/good/2'), ...Array.from({ length: 40 }, (_, i) => gate.url(`/held/${i}`))];
    const { jobId } = await startViaApi({ urls, concurrency, webhookUrl: receiver.url('/cancelled') });
    await waitFor(() => gate.stats().held === concurrency || undefined, 'the window to fill with held requests');
    return { jobId, urls };
  }

  async function expectCancelled(jobId: string, total: number, concurrency: number) {
    const job = await waitForJobEnd(app, KEYS.alice, jobId);
    expect(job.status).toBe('cancelled');
    expect((job as unknown as { resultsUrl: string }).resultsUrl).toMatch(new RegExp(`/api/v1/jobs/${jobId}/files/results.jsonl$`));
    // The in-flight requests were abandoned, and nothing new started.
    await waitFor(() => gate.stats().aborted === concurrency || undefined, 'held requests to be abandoned');
    expect(gate.stats().received).toBe(concurrency);
    const lines = await readResults(config, jobId);
    expect(lines).toHaveLength(total);
    expect(lines.filter((l) => l.status === 'cancelled')).toHaveLength(total - 1);
    expect(lines.find((l) => l.url === site.url('/good/2'))?.status).toBe('success');
    const description = await client.workflow.getHandle(jobId).describe();
    expect(description.status.name).toBe('CANCELLED');
    expect(description.typedSearchAttributes.get(JOB_OUTCOME)).toBe('cancelled');
    const hook = await webhookInput(jobId);
    expect(hook.payload).toMatchObject({ type: 'job.cancelled', data: { jobId, status: 'cancelled' } });
  }

  test('through the API', async () => {
    const { jobId, urls } = await startHeldJob(4);
    const res = await request(app).post(`/api/v1/jobs/${jobId}/cancel`).set(auth(KEYS.alice));
    expect(res.status).toBe(202);
    await expectCancelled(jobId, urls.length, 4);
  });

  test('through the Temporal client (as `temporal workflow cancel` does)', async () => {
    const { jobId, urls } = await startHeldJob(3);
    const progress: BulkConversionProgress = await client.workflow.getHandle(jobId).query(progressQuery);
    expect(progress.total).toBe(urls.length);
    await client.workflow.getHandle(jobId).cancel();
    await expectCancelled(jobId, urls.length, 3);
  });
});
