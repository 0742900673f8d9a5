import type { ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { request } from 'undici';
import type { AppConfig } from '../src/config/env';
import { startTestSite, TestSite } from './fixtures/test-site';
import { scrape, valueOf } from './fixtures/prometheus';
import { startWebhookReceiver, WebhookReceiver } from './fixtures/webhook-receiver';
import { testApp } from './harness/api';
import { freePort } from './harness/ports';
import { KEYS, spawnWorkerProcess, testClient, testConfig, waitFor } from './harness/temporal';

// Prometheus metrics as an operator scrapes them: the real worker process with its metrics
// port (job metrics merged with the Temporal runtime's), the API's /metrics, a real bulk job.

let client: Client;
let site: TestSite;
let receiver: WebhookReceiver;
let config: AppConfig;
let worker: ChildProcess | undefined;
let workerMetrics: string;
let api: Server;
let apiUrl: string;

const listen = async (c: AppConfig) => {
  const server = testApp(c, client).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
};

const call = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
  const res = await request(url, {
    method,
    headers: { authorization: `Bearer ${KEYS.alice}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  client = await testClient();
  site = await startTestSite();
  receiver = await startWebhookReceiver();
  config = testConfig();
  const port = await freePort();
  workerMetrics = `http://127.0.0.1:${port}/metrics`;
  worker = await spawnWorkerProcess(config, { METRICS_BIND_ADDRESS: `127.0.0.1:${port}`, CONVERSION_URL_ATTEMPTS: '1' });
  ({ server: api, url: apiUrl } = await listen(config));
});
afterAll(async () => {
  if (worker && worker.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((r) => worker!.once('exit', r));
  }
  await new Promise((r) => api?.close(r));
  await site?.close();
  await receiver?.close();
  await client?.connection.close();
});

test('a finished bulk job moves the worker counters; one port serves job and Temporal runtime metrics', async () => {
  const before = await scrape(workerMetrics);
  expect(before.contentType).toMatch(/^text\/plain/);
  const type = { type: 'bulk-conversion' };

  const urls = [site.url('/good/1'), site.url('/good/2'), site.url('/page/7'), site.url('/404')];
  const started = await call('POST', `${apiUrl}/api/v1/jobs/bulk-conversions`, { urls, format: 'markdown', webhookUrl: receiver.url() });
  expect(started.status).toBe(202);
  const jobUrl = `${apiUrl}/api/v1/jobs/${started.body.jobId as string}`;
  const ended = await waitFor(async () => {
    const job = await call('GET', jobUrl);
    return job.body.status !== 'running' && job.body;
  }, 'the job to end');
  expect(ended.status).toBe('completed_with_errors');

  // The webhook delivery is a job of its own that ends once the receiver answers.
  const after = await waitFor(async () => {
    const s = await scrape(workerMetrics);
    return (
      valueOf(s.samples, 'durable_jobs_webhook_deliveries_total', { outcome: 'delivered' }) >
        valueOf(before.samples, 'durable_jobs_webhook_deliveries_total', { outcome: 'delivered' }) && s
    );
  }, 'the webhook delivery to be counted');
  const delta = (name: string, labels: Record<string, string> = {}) =>
    valueOf(after.samples, name, labels) - valueOf(before.samples, name, labels);

  expect(delta('durable_jobs_jobs_started_total', type)).toBe(1);
  expect(delta('durable_jobs_jobs_finished_total', { ...type, outcome: 'completed_with_errors' })).toBe(1);
  expect(delta('durable_jobs_jobs_finished_total', { ...type, outcome: 'failed' })).toBe(0);
  expect(delta('durable_jobs_job_duration_seconds_count', type)).toBe(1);
  expect(delta('durable_jobs_job_duration_seconds_sum', type)).toBeGreaterThan(0);
  expect(delta('durable_jobs_items_processed_total', { ...type, status: 'succeeded' })).toBe(3);
  expect(delta('durable_jobs_items_processed_total', { ...type, status: 'failed' })).toBe(1);
  expect(delta('durable_jobs_jobs_finished_total', { type: 'webhook-delivery', outcome: 'completed' })).toBe(1);
  expect(delta('durable_jobs_webhook_delivery_attempts_bucket', { outcome: 'delivered', le: '1' })).toBe(1);
  // Labels never carry owners or job ids.
  expect(after.text).not.toContain(started.body.jobId as string);
  expect(after.text).not.toMatch(/alice/);
  // The Temporal runtime's own metrics on the same port, and Node's process metrics.
  expect(after.text).toMatch(/^temporal_\w+/m);
  expect(after.text).toMatch(/^nodejs_heap_size_used_bytes\{process="worker"\}/m);
});

test('failed and cancelled jobs are counted under their outcomes', async () => {
  const before = await scrape(workerMetrics);
  const failed = await call('POST', `${apiUrl}/api/v1/jobs/bulk-conversions`, { urls: [site.url('/404'), site.url('/410')] });
  const slow = await call('POST', `${apiUrl}/api/v1/jobs/bulk-conversions`, { urls: [site.url('/slow')] });
  await waitFor(async () => (await call('GET', `${apiUrl}/api/v1/jobs/${slow.body.jobId as string}`)).body.progress, 'the slow job to run');
  expect((await call('POST', `${apiUrl}/api/v1/jobs/${slow.body.jobId as string}/cancel`)).status).toBe(202);
  for (const [job, status] of [
    [failed, 'failed'],
    [slow, 'cancelled'],
  ] as const) {
    await waitFor(
      async () => (await call('GET', `${apiUrl}/api/v1/jobs/${job.body.jobId as string}`)).body.status === status,
      `a ${status} job`,
    );
  }
  const after = await waitFor(async () => {
    const s = await scrape(workerMetrics);
    return (
      valueOf(s.samples, 'durable_jobs_jobs_finished_total', { type: 'bulk-conversion', outcome: 'cancelled' }) >
        valueOf(before.samples, 'durable_jobs_jobs_finished_total', { type: 'bulk-conversion', outcome: 'cancelled' }) && s
    );
  }, 'the cancelled job to be counted');
  const delta = (name: string, labels: Record<string, string>) =>
    valueOf(after.samples, name, labels) - valueOf(before.samples, name, labels);
  expect(delta('durable_jobs_jobs_started_total', { type: 'bulk-conversion' })).toBe(2);
  expect(delta('durable_jobs_jobs_finished_total', { type: 'bulk-conversion', outcome: 'failed' })).toBe(1);
  expect(delta('durable_jobs_jobs_finished_total', { type: 'bulk-conversion', outcome: 'cancelled' })).toBe(1);
  expect(delta('durable_jobs_items_processed_total', { type: 'bulk-conversion', status: 'failed' })).toBe(2);
});

test('GET /metrics on the API: request durations by route template and status, task-queue backlog from Temporal', async () => {
  await call('GET', `${apiUrl}/api/v1/jobs/bulk-conversion-does-not-exist`);
  await call('GET', `${apiUrl}/api/v1/jobs`);
  await call('GET', `${apiUrl}/no/such/route`);
  const { samples, text } = await scrape(`${apiUrl}/metrics`);
  const count = (route: string, status: string, method = 'GET') =>
    valueOf(samples, 'durable_jobs_http_request_duration_seconds_count', { method, route, status });
  expect(count('/api/v1/jobs/:jobId', '404')).toBeGreaterThanOrEqual(1);
  expect(count('/api/v1/jobs/:jobId', '200')).toBeGreaterThanOrEqual(1);
  expect(count('/api/v1/jobs', '200')).toBe(1);
  expect(count('/api/v1/jobs/bulk-conversions', '202', 'POST')).toBe(3);
  expect(count('/api/v1/jobs/:jobId/cancel', '202', 'POST')).toBe(1);
  expect(count('unmatched', '404')).toBe(1);
  expect(text).not.toContain('does-not-exist');
  expect(valueOf(samples, 'durable_jobs_temporal_up')).toBe(1);
  for (const kind of ['workflow', 'activity']) {
    expect(
      samples.some(
        (s) =>
          s.name === 'durable_jobs_task_queue_backlog' &&
          s.labels.queue === `${config.TASK_QUEUE_PREFIX}conversion` &&
          s.labels.kind === kind,
      ),
    ).toBe(true);
  }
});

test('a queue nobody polls shows its backlog and the age of its oldest task', async () => {
  const idle = testConfig();
  const { server, url } = await listen(idle);
  try {
    const started = await call('POST', `${url}/api/v1/jobs/bulk-conversions`, { urls: [site.url('/good/1')] });
    expect(started.status).toBe(202);
    const queue = { queue: `${idle.TASK_QUEUE_PREFIX}conversion`, kind: 'workflow' };
    const s = await waitFor(
      async () => {
        const { samples } = await scrape(`${url}/metrics`);
        return (
          valueOf(samples, 'durable_jobs_task_queue_backlog', queue) >= 1 &&
          valueOf(samples, 'durable_jobs_task_queue_backlog_age_seconds', queue) >= 1 &&
          samples
        );
      },
      'the backlog to show',
      60_000,
      1000,
    );
    expect(valueOf(s, 'durable_jobs_task_queue_backlog', queue)).toBe(1);
    await client.workflow.getHandle(started.body.jobId as string).terminate('test over');
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('a Temporal that does not answer gives temporal_up 0, not a failed scrape', async () => {
  const { Connection, Client: C } = await import('@temporalio/client');
  const dead = new C({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const server = testApp(testConfig(), dead).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const { samples } = await scrape(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
    expect(valueOf(samples, 'durable_jobs_temporal_up')).toBe(0);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
