import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { prefixedQueue } from '../src/shared/task-queues';
import { WebhookDeliveryResult } from '../src/workflows/webhook-delivery/contract';
import { startWebhookReceiver, verifyWebhook, WebhookReceiver } from './fixtures/webhook-receiver';
import { spawnWorkerProcess, TEST_WEBHOOK_SECRET, testClient, testConfig, waitFor } from './harness/temporal';
import { webhookDelivery } from '../src/workflows/webhook-delivery';
import { WEBHOOK_DELIVERY_QUEUE } from '../src/workflows/webhook-delivery/contract';

// A worker SIGKILLed while an attempt is in flight: Temporal times the lost attempt out,
// a fresh worker carries on with the schedule, and the event is delivered, same id.

const WORKER_ENV = { WORKER_TASK_QUEUES: 'webhooks', WEBHOOK_RETRY_SCHEDULE: '0s,1s,1s', WEBHOOK_TIMEOUT: '2s' };

describe('webhook delivery survives a killed worker', () => {
  let client: Client;
  let receiver: WebhookReceiver;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    client = await testClient();
    // The first request is never answered: the worker dies while waiting for it.
    receiver = await startWebhookReceiver({ respond: (_h, i) => (i === 0 ? 'hang' : { status: 200 }) });
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await receiver.close();
    await client.connection.close();
  });

  test('SIGKILL mid-attempt, fresh worker: delivered, attempts show the lost one', async () => {
    const config = testConfig(WORKER_ENV);
    const first = await spawnWorkerProcess(config, WORKER_ENV);
    workers.push(first);

    const workflowId = `webhook-kill-${randomUUID()}`;
    const handle = await client.workflow.start(webhookDelivery, {
      workflowId,
      taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, WEBHOOK_DELIVERY_QUEUE),
      args: [
        {
          deliveryId: `msg_${workflowId}`,
          url: receiver.url(),
          eventType: 'job.finished',
          payload: { type: 'job.finished', data: { n: 1 } },
        },
      ],
    });
    await waitFor(() => receiver.received.length === 1, 'the first attempt to reach the receiver');

    const exited = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGKILL');
    await exited;

    workers.push(await spawnWorkerProcess(config, WORKER_ENV));
    const result = (await handle.result()) as WebhookDeliveryResult;

    expect(result.state).toBe('delivered');
    expect(result.attempts).toHaveLength(2);
    expect(result.attempts[0].error).toMatch(/did not complete.*timeout/i);
    expect(result.attempts[1].httpStatus).toBe(200);
    expect(receiver.received).toHaveLength(2);
    for (const hook of receiver.received) {
      expect(hook.headers['webhook-id']).toBe(`msg_${workflowId}`);
      expect(verifyWebhook(TEST_WEBHOOK_SECRET, hook)).toEqual({ type: 'job.finished', data: { n: 1 } });
    }
  });
});
