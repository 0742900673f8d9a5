import request from 'supertest';
import { Client, Connection } from '@temporalio/client';
import { testApp } from './harness/api';
import { startWorkers, testClient, testConfig, waitFor } from './harness/temporal';
import { ConfigError } from '../src/config/env';

// /health/ready as an orchestrator calls it: often, against a real dev server and real workers.

let client: Client;
beforeAll(async () => {
  client = await testClient();
});
afterAll(async () => {
  await client.connection.close();
});

test('only READY_REQUIRED_QUEUES need pollers; answers are cached for READY_CACHE', async () => {
  const config = testConfig({ READY_REQUIRED_QUEUES: 'webhooks', READY_CACHE: '3s' });
  const workers = await startWorkers(config, { queues: ['webhooks'] });
  try {
    const app = testApp(config, client);
    const first = await waitFor(async () => {
      const res = await request(app).get('/health/ready');
      return res.status === 200 ? res : undefined;
    }, 'ready');
    expect(first.body.failed).toEqual([]);
    expect(Object.keys(first.body.checks).sort()).toEqual(['taskQueue:' + config.TASK_QUEUE_PREFIX + 'webhooks', 'temporal']);
    // A second call within READY_CACHE reuses the first round of checks.
    const second = await request(app).get('/health/ready');
    expect(second.status).toBe(200);
    expect(second.body.checkedAt).toBe(first.body.checkedAt);
    await new Promise((r) => setTimeout(r, 3_100));
    expect((await request(app).get('/health/ready')).body.checkedAt).not.toBe(first.body.checkedAt);
  } finally {
    await workers.shutdown();
  }
});

test('an unreachable Temporal is 503 without revealing its address', async () => {
  const config = testConfig({ TEMPORAL_ADDRESS: '10.255.255.1:7233' });
  const dead = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const res = await request(testApp(config, dead)).get('/health/ready');
  expect(res.status).toBe(503);
  expect(res.body.failed).toEqual(['temporal']);
  expect(JSON.stringify(res.body)).not.toMatch(/10\.255\.255\.1|127\.0\.0\.1|:7233|:1\b/);
  expect(res.body.checks.temporal.detail).toMatch(/^Temporal unreachable/);
});

test('READY_REQUIRED_QUEUES names only known queues', () => {
  expect(() => testConfig({ READY_REQUIRED_QUEUES: 'webhooks,nope' })).toThrow(ConfigError);
  expect(() => testConfig({ READY_REQUIRED_QUEUES: 'webhooks,nope' })).toThrow(/READY_REQUIRED_QUEUES: unknown task queue\(s\) nope/);
});
