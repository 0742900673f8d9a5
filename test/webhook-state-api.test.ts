import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import request from 'supertest';
import { JOB_OWNER, JOB_TYPE } from '../src/shared/search-attributes';
import { prefixedQueue } from '../src/shared/task-queues';
import { jobWebhookWorkflowId, WebhookDeliveryInput } from '../src/workflows/webhook-delivery/contract';
import { startWebhookReceiver, WebhookReceiver } from './fixtures/webhook-receiver';
import { testApp } from './harness/api';
import { KEYS, RunningWorkers, startWorkers, testClient, testConfig, waitFor } from './harness/temporal';
import { webhookDelivery } from '../src/workflows/webhook-delivery';
import { WEBHOOK_DELIVERY_QUEUE } from '../src/workflows/webhook-delivery/contract';

// GET /api/v1/jobs/:jobId shows the job's webhook delivery: none, pending, delivered or failed.

describe('job status shows webhook delivery state', () => {
  const config = testConfig({ WEBHOOK_RETRY_SCHEDULE: '0s,1h' });
  let client: Client;
  let workers: RunningWorkers | undefined;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    client = await testClient();
    workers = await startWorkers(config, { queues: [WEBHOOK_DELIVERY_QUEUE] });
    receiver = await startWebhookReceiver({
      respond: (hook) => ({ status: hook.path === '/ok' ? 200 : hook.path === '/gone' ? 410 : 503 }),
    });
  });
  afterAll(async () => {
    await workers?.shutdown();
    await receiver.close();
    await client.connection.close();
  });

  /** A finished job as the status route sees one (the job's own workflow is not the point here). */
  async function finishedJob(): Promise<string> {
    const jobId = `bulk-conversion-standin-${randomUUID()}`;
    const handle = await client.workflow.start('jobStandIn', {
      workflowId: jobId,
      taskQueue: `${config.TASK_QUEUE_PREFIX}no-such-queue`,
      typedSearchAttributes: [
        { key: JOB_TYPE, value: 'bulk-conversion' },
        { key: JOB_OWNER, value: 'alice' },
      ],
    });
    await handle.terminate('stand-in job');
    return jobId;
  }

  async function sendWebhook(jobId: string, path: string, sequence = 1): Promise<void> {
    const workflowId = jobWebhookWorkflowId(jobId, sequence);
    const input: WebhookDeliveryInput = {
      deliveryId: `msg_${workflowId}`,
      url: receiver.url(path),
      eventType: 'job.finished',
      payload: { jobId },
      jobId,
    };
    await client.workflow.start(webhookDelivery, {
      workflowId,
      taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, WEBHOOK_DELIVERY_QUEUE),
      args: [input],
    });
  }

  const getJob = (jobId: string) =>
    request(testApp(config, client)).get(`/api/v1/jobs/${jobId}`).set('Authorization', `Bearer ${KEYS.alice}`);

  test('none before any webhook was handed over', async () => {
    const jobId = await finishedJob();
    const res = await getJob(jobId);
    expect(res.status).toBe(200);
    expect(res.body.webhook).toEqual({ state: 'none', attempts: 0 });
  });

  test('delivered, with the last attempt', async () => {
    const jobId = await finishedJob();
    await sendWebhook(jobId, '/ok');
    await client.workflow.getHandle(jobWebhookWorkflowId(jobId)).result();
    const res = await getJob(jobId);
    expect(res.body.webhook).toMatchObject({ state: 'delivered', attempts: 1, lastAttempt: { attempt: 1, httpStatus: 200 } });
  });

  test('a later event (sequence 2) is the one shown', async () => {
    const jobId = await finishedJob();
    await sendWebhook(jobId, '/ok');
    await client.workflow.getHandle(jobWebhookWorkflowId(jobId)).result();
    await sendWebhook(jobId, '/gone', 2);
    await client.workflow.getHandle(jobWebhookWorkflowId(jobId, 2)).result();
    const res = await getJob(jobId);
    expect(res.body.webhook).toMatchObject({ state: 'failed', attempts: 1, lastAttempt: { httpStatus: 410 } });
  });

  test('pending between retries, and still readable with no webhooks worker running', async () => {
    const jobId = await finishedJob();
    await sendWebhook(jobId, '/unavailable');
    const pending = await waitFor(async () => {
      const res = await getJob(jobId);
      return res.body.webhook?.attempts === 1 && res.body.webhook;
    }, 'the first failed attempt to show');
    expect(pending).toMatchObject({ state: 'pending', attempts: 1, lastAttempt: { httpStatus: 503 } });

    await workers!.shutdown();
    workers = undefined;
    const res = await getJob(jobId);
    expect(res.body.webhook).toMatchObject({ state: 'pending', attempts: 1 });
    await client.workflow.getHandle(jobWebhookWorkflowId(jobId)).terminate('test over');
  });
});
