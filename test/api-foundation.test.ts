import request from 'supertest';
import type { Client } from '@temporalio/client';
import { testApp } from './harness/api';
import { KEYS, RunningWorkers, startWorkers, testClient, testConfig } from './harness/temporal';

describe('API foundation against a real Temporal server', () => {
  let client: Client;
  beforeAll(async () => {
    client = await testClient();
  });
  afterAll(async () => {
    await client.connection.close();
  });

  test('GET /health is 200 without auth', async () => {
    const app = testApp(testConfig(), client);
    const res = await request(app).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  test('GET /health/ready is 503 naming the task queues nobody polls', async () => {
    const config = testConfig();
    const res = await request(testApp(config, client)).get('/health/ready');
    expect(res.status).toBe(503);
    expect(res.body.checks.temporal.ok).toBe(true);
    expect(res.body.failed).toContain(`taskQueue:${config.TASK_QUEUE_PREFIX}conversion`);
    expect(res.body.checks[`taskQueue:${config.TASK_QUEUE_PREFIX}webhooks`].detail).toMatch(/no worker is polling/);
  });

  test('GET /health/ready is 503 when Temporal is unreachable', async () => {
    const config = testConfig();
    const { Connection, Client: C } = await import('@temporalio/client');
    const dead = new C({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    try {
      const res = await request(testApp(config, dead)).get('/health/ready');
      expect(res.status).toBe(503);
      expect(res.body.failed).toEqual(['temporal']);
    } finally {
      // A lazy connection to a dead address keeps retrying until closed.
      await dead.connection.close();
    }
  });

  describe('with workers polling every queue', () => {
    let workers: RunningWorkers;
    const config = testConfig();
    beforeAll(async () => {
      workers = await startWorkers(config);
    });
    afterAll(async () => {
      await workers.shutdown();
    });
    test('GET /health/ready turns 200', async () => {
      const app = testApp(config, client);
      let res = await request(app).get('/health/ready');
      for (let i = 0; i < 50 && res.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 200));
        res = await request(app).get('/health/ready');
      }
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('ready');
    });
  });

  test('GET /api/openapi.json describes every route, with request schemas from the validators', async () => {
    const res = await request(testApp(testConfig(), client)).get('/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/health/ready',
        '/api/v1/jobs',
        '/api/v1/jobs/{jobId}',
        '/api/v1/jobs/{jobId}/cancel',
        '/api/v1/jobs/bulk-conversions',
        '/api/v1/jobs/video-generations',
      ]),
    );
    const video = res.body.paths['/api/v1/jobs/video-generations'].post.requestBody.content['application/json'].schema;
    expect(video.properties.prompt).toBeDefined();
  });

  test('no key or an unknown key is 401; a user key on an admin route is 403', async () => {
    const app = testApp(testConfig(), client);
    const none = await request(app).get('/api/v1/jobs');
    expect(none.status).toBe(401);
    expect(none.body.error.message).toMatch(/missing API key/);
    const wrong = await request(app).get('/api/v1/jobs').set('Authorization', 'Bearer nope-not-a-key-at-all');
    expect(wrong.status).toBe(401);
    const user = await request(app).get('/api/admin/queues').set('Authorization', `Bearer ${KEYS.alice}`);
    expect(user.status).toBe(403);
    const admin = await request(app).get('/api/admin/queues').set('Authorization', `Bearer ${KEYS.admin}`);
    expect(admin.status).toBe(200);
    expect(admin.body.queues.map((q: { taskQueue: string }) => q.taskQueue)).toEqual(
      expect.arrayContaining([expect.stringMatching(/conversion$/)]),
    );
  });

  test('GET /api/v1/jobs lists nothing for a new owner', async () => {
    const app = testApp(testConfig({ API_KEYS: `newbie-${Date.now()}:user:newbie-key-0123456789abcdef` }), client);
    const res = await request(app).get('/api/v1/jobs').set('Authorization', 'Bearer newbie-key-0123456789abcdef');
    expect(res.status).toBe(200);
    expect(res.body.jobs).toEqual([]);
  });

  test('bad input is a 4xx JSON error naming the field, never a 500', async () => {
    const app = testApp(testConfig(), client);
    const auth = { Authorization: `Bearer ${KEYS.alice}` };
    const badQuery = await request(app).get('/api/v1/jobs?pageSize=0').set(auth);
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.error.fields[0].field).toBe('pageSize');
    const badType = await request(app).get('/api/v1/jobs?type=nope').set(auth);
    expect(badType.status).toBe(400);
    expect(badType.body.error.fields[0].field).toBe('type');
    const malformed = await request(app).post('/api/v1/jobs/x/cancel').set(auth).set('Content-Type', 'application/json').send('{"urls": [');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('malformed_json');
    const huge = await request(app)
      .post('/api/v1/jobs/x/cancel')
      .set(auth)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ pad: 'x'.repeat(1_100_000) }));
    expect(huge.status).toBe(413);
    const missing = await request(app).get('/api/v1/jobs/does-not-exist').set(auth);
    expect(missing.status).toBe(404);
    const unknownRoute = await request(app).get('/api/v1/nothing-here').set(auth);
    expect(unknownRoute.status).toBe(404);
  });
});
