import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { temporal } from '@temporalio/proto';
import { prefixedQueue } from '../src/shared/task-queues';
import { WebhookDeliveryInput, WebhookDeliveryResult } from '../src/workflows/webhook-delivery/contract';
import { spawnWorkerProcess, testClient, testConfig, waitFor } from './harness/temporal';
import { webhookDelivery } from '../src/workflows/webhook-delivery';
import { WEBHOOK_DELIVERY_QUEUE } from '../src/workflows/webhook-delivery/contract';

// SIGTERM drains: the worker stops taking tasks, lets the in-flight activity finish within
// WORKER_SHUTDOWN_GRACE, and exits 0 — the attempt is not lost or repeated.

test('a worker stopped with SIGTERM finishes its in-flight activity, then exits cleanly', async () => {
  let requests = 0;
  const receiver = http.createServer((req, res) => {
    requests++;
    req.resume();
    setTimeout(() => res.writeHead(204).end(), 3000); // a slow receiver: the attempt is in flight when SIGTERM lands
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  const config = testConfig({ WEBHOOK_TIMEOUT: '20s' });
  const worker = await spawnWorkerProcess(config, { WORKER_SHUTDOWN_GRACE: '15s', WORKER_TASK_QUEUES: 'webhooks' });
  const client = await testClient();
  try {
    const workflowId = `webhook-drain-${Date.now()}`;
    const input: WebhookDeliveryInput = { deliveryId: `msg_${workflowId}`, url, eventType: 'test.drain', payload: { hello: 'drain' } };
    const handle = await client.workflow.start(webhookDelivery, {
      workflowId,
      taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, WEBHOOK_DELIVERY_QUEUE),
      args: [input],
    });
    await waitFor(() => requests === 1, 'the attempt to reach the receiver', 60_000, 50);

    const exited = new Promise<number | null>((r) => worker.once('exit', (code) => r(code)));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);

    // The activity completed on the draining worker; the workflow needs a worker to go on.
    const history = await handle.fetchHistory();
    const completed = history.events!.filter((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
    expect(completed).toHaveLength(1);
    const next = await spawnWorkerProcess(config, { WORKER_TASK_QUEUES: 'webhooks' });
    try {
      const result = (await handle.result()) as WebhookDeliveryResult;
      expect(result.state).toBe('delivered');
      expect(result.attempts).toHaveLength(1);
      expect(requests).toBe(1);
    } finally {
      next.kill('SIGKILL');
    }
  } finally {
    if (worker.exitCode === null) worker.kill('SIGKILL');
    await client.connection.close();
    receiver.close();
  }
}, 180_000);
