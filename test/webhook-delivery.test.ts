import { randomUUID } from 'node:crypto';
import dns from 'node:dns';
import os from 'node:os';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { optionalTsToMs, tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { replayJobMetricsSinks } from '../src/worker/job-metrics';
import type { AppConfig } from '../src/config/env';
import { loadWorkflowBundle } from '../src/worker/workers';
import { blockedReason } from '../src/net/ssrf-guard';
import { prefixedQueue } from '../src/shared/task-queues';
import {
  webhookAttemptsQuery,
  webhookAlertWorkflowId,
  WebhookDeliveryInput,
  WebhookDeliveryResult,
} from '../src/workflows/webhook-delivery/contract';
import { startWebhookReceiver, verifies, verifyWebhook, WebhookReceiver } from './fixtures/webhook-receiver';
import { freePort } from './harness/ports';
import { RunningWorkers, startWorkers, TEST_WEBHOOK_SECRET, testClient, testConfig, waitFor } from './harness/temporal';
import { webhookDelivery } from '../src/workflows/webhook-delivery';
import { WEBHOOK_DELIVERY_QUEUE } from '../src/workflows/webhook-delivery/contract';

// The delivery workflow end to end: a real dev server, real workers on the `webhooks`
// queue, real receivers on 127.0.0.1 verifying with the public standardwebhooks package.

const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const NEW_SECRET = 'whsec_bmV3LXNlY3JldC1uZXctc2VjcmV0LW5ldy1zZWNyZXQ=';
const OLD_SECRET = 'whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0LW9sZC1zZWNyZXQ=';
const OTHER_SECRET = 'whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC1vdGhlcg==';

let client: Client;
/** Every delivery started here; replayed at the end to prove the workflow is deterministic. */
const started: WorkflowHandle[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  client = await testClient();
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});
afterAll(async () => {
  await client.connection.close();
});

async function workersFor(config: AppConfig): Promise<RunningWorkers> {
  const workers = await startWorkers(config, { queues: [WEBHOOK_DELIVERY_QUEUE] });
  cleanups.push(() => workers.shutdown());
  return workers;
}

async function receiver(opts: Parameters<typeof startWebhookReceiver>[0] = {}): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver(opts);
  cleanups.push(() => r.close());
  return r;
}

async function startDelivery(config: AppConfig, input: Partial<WebhookDeliveryInput> & { url: string }): Promise<WorkflowHandle> {
  const workflowId = `webhook-test-${randomUUID()}`;
  const handle = await client.workflow.start(webhookDelivery, {
    workflowId,
    taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, WEBHOOK_DELIVERY_QUEUE),
    args: [
      {
        deliveryId: `msg_${workflowId}`,
        eventType: 'job.finished',
        payload: { type: 'job.finished', data: { jobId: 'j-1', status: 'completed' } },
        ...input,
      },
    ],
  });
  started.push(handle);
  return handle;
}

const resultOf = (handle: WorkflowHandle) => handle.result() as Promise<WebhookDeliveryResult>;

async function historyOf(handle: WorkflowHandle): Promise<HistoryEvent[]> {
  return (await handle.fetchHistory()).events ?? [];
}

/** Requested waits of the durable timers, in ms, in order. */
function timerWaits(events: HistoryEvent[]): number[] {
  return events
    .filter((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED)
    .map((e) => optionalTsToMs(e.timerStartedEventAttributes!.startToFireTimeout) ?? 0);
}

/** For each attempt after the first: server time from the previous attempt's end to this attempt's scheduling. */
function gapsBetweenAttempts(events: HistoryEvent[]): number[] {
  const at = (e: HistoryEvent) => tsToMs(e.eventTime);
  const scheduled = events.filter(
    (e) =>
      e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
      e.activityTaskScheduledEventAttributes?.activityType?.name === 'deliverWebhookAttempt',
  );
  const ended = events.filter(
    (e) =>
      e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED ||
      e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT ||
      e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
  );
  return scheduled.slice(1).map((s, i) => at(s) - at(ended[i]));
}

function deliveryAttemptsScheduled(events: HistoryEvent[]): HistoryEvent[] {
  return events.filter(
    (e) =>
      e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
      e.activityTaskScheduledEventAttributes?.activityType?.name === 'deliverWebhookAttempt',
  );
}

test('receiver down for several attempts, then back: delivered once it answers, one webhook-id and one body across attempts', async () => {
  const config = testConfig({ WEBHOOK_RETRY_SCHEDULE: '0s,1s,1s,1s,1s,2s,5s,10s,20s,30s' });
  await workersFor(config);
  const port = await freePort();
  const handle = await startDelivery(config, { url: `http://127.0.0.1:${port}/hook` });

  // Nobody listens yet: the attempts query shows refused connections.
  const early = await waitFor(async () => {
    const attempts = await handle.query(webhookAttemptsQuery);
    return attempts.length >= 2 && attempts;
  }, 'two failed attempts');
  expect(
    early.every(
      (a) => /ECONNREFUSED/.test(a.error ?? '') && a.httpStatus === undefined && a.durationMs >= 0 && !Number.isNaN(Date.parse(a.at)),
    ),
  ).toBe(true);

  // Back up, but still failing twice with 503 before it recovers.
  const r = await receiver({ port, respond: (_hook, i) => ({ status: i < 2 ? 503 : 200 }) });
  const result = await resultOf(handle);

  expect(result.state).toBe('delivered');
  const statuses = result.attempts.map((a) => a.httpStatus ?? 'network');
  expect(statuses.slice(-3)).toEqual([503, 503, 200]);
  expect(statuses.slice(0, -3).every((s) => s === 'network')).toBe(true);
  expect(result.attempts.map((a) => a.attempt)).toEqual(result.attempts.map((_, i) => i + 1));
  expect(r.received).toHaveLength(3);
  expect(new Set(r.received.map((h) => h.headers['webhook-id']))).toEqual(new Set([result.deliveryId]));
  expect(new Set(r.received.map((h) => h.body)).size).toBe(1);
  for (const hook of r.received)
    expect(verifyWebhook(TEST_WEBHOOK_SECRET, hook)).toEqual({ type: 'job.finished', data: { jobId: 'j-1', status: 'completed' } });
  // Nothing more is sent after success.
  expect(await handle.query(webhookAttemptsQuery)).toHaveLength(result.attempts.length);
});

test('410 stops at once: one attempt, failed, and a signed alert to ALERT_WEBHOOK_URL', async () => {
  const alerts = await receiver();
  const config = testConfig({ ALERT_WEBHOOK_URL: alerts.url('/alerts'), WEBHOOK_RETRY_SCHEDULE: '0s,1s,1s' });
  await workersFor(config);
  const gone = await receiver({ respond: () => ({ status: 410 }) });
  const handle = await startDelivery(config, { url: gone.url(), jobId: 'job-410' });

  const result = await resultOf(handle);
  expect(result.state).toBe('failed');
  expect(result.attempts).toHaveLength(1);
  expect(result.attempts[0].httpStatus).toBe(410);
  expect(gone.received).toHaveLength(1);

  const alertHandle = client.workflow.getHandle(webhookAlertWorkflowId(handle.workflowId));
  expect((await resultOf(alertHandle)).state).toBe('delivered');
  expect(alerts.received).toHaveLength(1);
  const alert = verifyWebhook(TEST_WEBHOOK_SECRET, alerts.received[0]) as { type: string; data: Record<string, unknown> };
  expect(alerts.received[0].headers['webhook-id']).toBe(`${result.deliveryId}_alert`);
  expect(alert.type).toBe('webhook.delivery_failed');
  expect(alert.data).toMatchObject({
    deliveryId: result.deliveryId,
    jobId: 'job-410',
    url: gone.url(),
    attempts: 1,
    lastAttempt: { httpStatus: 410 },
  });
});

test('a failed alert raises no further alert; no ALERT_WEBHOOK_URL means no alert', async () => {
  const config = testConfig({ WEBHOOK_RETRY_SCHEDULE: '0s' });
  await workersFor(config);
  const gone = await receiver({ respond: () => ({ status: 410 }) });
  const asAlert = await startDelivery(config, { url: gone.url(), isAlert: true });
  const plain = await startDelivery(config, { url: gone.url() });
  expect((await resultOf(asAlert)).state).toBe('failed');
  expect((await resultOf(plain)).state).toBe('failed');
  for (const h of [asAlert, plain]) {
    await expect(client.workflow.getHandle(webhookAlertWorkflowId(h.workflowId)).describe()).rejects.toThrow(/not found/i);
  }
});

test('429 with Retry-After longer than the next step waits that long (durable timer in history)', async () => {
  const config = testConfig({ WEBHOOK_RETRY_SCHEDULE: '0s,1s,1s' });
  await workersFor(config);
  const r = await receiver({ respond: (_h, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '3' } } : { status: 200 }) });
  const handle = await startDelivery(config, { url: r.url() });

  const result = await resultOf(handle);
  expect(result.state).toBe('delivered');
  expect(result.attempts.map((a) => a.httpStatus)).toEqual([429, 200]);
  const events = await historyOf(handle);
  expect(timerWaits(events)).toEqual([3000]);
  expect(gapsBetweenAttempts(events)[0]).toBeGreaterThanOrEqual(3000);
});

test('backoff follows WEBHOOK_RETRY_SCHEDULE (0s,1s,2s) with at most 10% jitter, as Temporal history shows', async () => {
  const config = testConfig({ WEBHOOK_RETRY_SCHEDULE: '0s,1s,2s' });
  await workersFor(config);
  const r = await receiver({ respond: () => ({ status: 500 }) });
  const handle = await startDelivery(config, { url: r.url() });

  const result = await resultOf(handle);
  expect(result.state).toBe('failed');
  expect(result.attempts.map((a) => a.httpStatus)).toEqual([500, 500, 500]);
  expect(r.received).toHaveLength(3);

  const events = await historyOf(handle);
  expect(deliveryAttemptsScheduled(events)).toHaveLength(3);
  // Each attempt is one activity that Temporal itself never retries.
  for (const e of deliveryAttemptsScheduled(events)) expect(e.activityTaskScheduledEventAttributes!.retryPolicy!.maximumAttempts).toBe(1);
  const waits = timerWaits(events);
  expect(waits).toHaveLength(2);
  expect(waits[0]).toBeGreaterThanOrEqual(1000);
  expect(waits[0]).toBeLessThanOrEqual(1100);
  expect(waits[1]).toBeGreaterThanOrEqual(2000);
  expect(waits[1]).toBeLessThanOrEqual(2200);
  const gaps = gapsBetweenAttempts(events);
  expect(gaps[0]).toBeGreaterThanOrEqual(waits[0]);
  expect(gaps[1]).toBeGreaterThanOrEqual(waits[1]);
});

test('a 3xx is a failed attempt and the redirect is not followed', async () => {
  const config = testConfig({ WEBHOOK_RETRY_SCHEDULE: '0s,1s' });
  await workersFor(config);
  const r = await receiver({
    respond: (hook) => (hook.path === '/moved' ? { status: 200 } : { status: 302, headers: { location: '/moved' } }),
  });
  const handle = await startDelivery(config, { url: r.url('/hook') });

  const result = await resultOf(handle);
  expect(result.state).toBe('failed');
  expect(result.attempts.map((a) => a.httpStatus)).toEqual([302, 302]);
  expect(r.received.map((h) => h.path)).toEqual(['/hook', '/hook']);
});

test('key rotation: every delivery verifies with the new and with only the old secret; a wrong secret or a tampered body does not', async () => {
  const config = testConfig({ WEBHOOK_SECRET: `${NEW_SECRET} ${OLD_SECRET}` });
  await workersFor(config);
  const r = await receiver({ respond: (_h, i) => ({ status: i === 0 ? 500 : 202 }) });
  const handle = await startDelivery(config, { url: r.url() });

  expect((await resultOf(handle)).state).toBe('delivered');
  expect(r.received).toHaveLength(2);
  for (const hook of r.received) {
    expect(String(hook.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(NEW_SECRET, hook)).toBe(true);
    expect(verifies(OLD_SECRET, hook)).toBe(true);
    expect(verifies(OTHER_SECRET, hook)).toBe(false);
    expect(verifies(OLD_SECRET, hook, hook.body.replace('completed', 'failed'))).toBe(false);
  }
});

describe('SSRF guard at delivery time', () => {
  test('a private-address target is refused (one attempt, permanent) when not allowed; nothing reaches it', async () => {
    const config = testConfig({ OUTBOUND_ALLOW_HOSTS: '', WEBHOOK_RETRY_SCHEDULE: '0s,1s,1s' });
    await workersFor(config);
    const r = await receiver();
    const handle = await startDelivery(config, { url: r.url() });

    const result = await resultOf(handle);
    expect(result.state).toBe('failed');
    expect(result.attempts).toHaveLength(1);
    expect(result.attempts[0].error).toMatch(/refused target 127\.0\.0\.1/);
    expect(r.received).toHaveLength(0);
  });

  test('a host name is checked after DNS resolution: refused when it resolves to a private address, delivered when allowed', async () => {
    // This machine's own name resolves (through /etc/hosts or DNS) to a non-public address.
    const host = os.hostname().toLowerCase();
    const resolved = await dns.promises.lookup(host).catch(() => undefined);
    if (!resolved || !blockedReason(resolved.address) || resolved.family !== 4) {
      console.warn(`skipping: ${host} does not resolve to a private IPv4 address here`);
      return;
    }
    const r = await receiver();
    // Listen where the name points (127.x is fine; otherwise the receiver is not reachable there and the test says so).
    expect(resolved.address.startsWith('127.')).toBe(true);

    const refusedConfig = testConfig({ OUTBOUND_ALLOW_HOSTS: '', WEBHOOK_RETRY_SCHEDULE: '0s,1s' });
    await workersFor(refusedConfig);
    const refused = await resultOf(await startDelivery(refusedConfig, { url: `http://${host}:${r.port}/hook` }));
    expect(refused.state).toBe('failed');
    expect(refused.attempts).toHaveLength(1);
    expect(refused.attempts[0].error).toMatch(new RegExp(`refused target ${host}: resolves to a loopback, private`));
    // The owner learns that the name was refused, not which internal address it has.
    expect(refused.attempts[0].error).not.toContain(resolved.address);
    expect(r.received).toHaveLength(0);

    const allowedConfig = testConfig({ OUTBOUND_ALLOW_HOSTS: host });
    await workersFor(allowedConfig);
    const allowed = await resultOf(await startDelivery(allowedConfig, { url: `http://${host}:${r.port}/hook` }));
    expect(allowed.state).toBe('delivered');
    expect(r.received).toHaveLength(1);
  });
});

test('every delivery above replays deterministically from its history (timers, jitter, memo, alert child)', async () => {
  const bundle = await loadWorkflowBundle();
  expect(started.length).toBeGreaterThan(8);
  for (const handle of started) {
    const history = await handle.fetchHistory();
    // Small histories: no delivery here comes near the continue-as-new suggestion (~4k events).
    expect(history.events!.length).toBeLessThan(100);
    await Worker.runReplayHistory(
      { workflowBundle: bundle, replayName: handle.workflowId, sinks: replayJobMetricsSinks() },
      history,
      handle.workflowId,
    );
  }
});
