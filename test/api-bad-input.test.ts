import request from 'supertest';
import type { Client } from '@temporalio/client';
import { testApp } from './harness/api';
import { KEYS, testClient, testConfig } from './harness/temporal';

// Non-negotiable: no input produces a 5xx or a started job. Throw junk at every route.

const auth = { Authorization: `Bearer ${KEYS.alice}` };
const START_ROUTES = ['/api/v1/jobs/bulk-conversions', '/api/v1/jobs/video-generations', '/api/v1/jobs/publishing-builds'];

/** A body each start route accepts, to misspell one field of. */
const VALID_BODIES: Record<string, Record<string, unknown>> = {
  '/api/v1/jobs/bulk-conversions': { urls: ['https://example.com/a'] },
  '/api/v1/jobs/video-generations': { prompt: 'a lighthouse at dawn' },
  '/api/v1/jobs/publishing-builds': {
    projectId: 'acme',
    platform: 'android',
    source: { git: 'https://github.com/acme/app.git' },
    version: '1.0.0',
    buildNumber: 1,
  },
};

const JUNK_BODIES: unknown[] = [
  null,
  [],
  [1, 2, 3],
  'a string',
  42,
  true,
  {},
  { urls: null, prompt: null },
  { urls: 'http://example.com', prompt: 123 },
  { urls: [{}], prompt: ['x'] },
  { urls: [null, 1, true], provider: {} },
  { __proto__: { admin: true }, constructor: { prototype: { polluted: true } } },
  { urls: ['http://example.com'], format: { $ne: 1 }, concurrency: '10' },
  { urls: ['http://example.com'], concurrency: 1e308 },
  { urls: ['http://example.com'], concurrency: -1 },
  { urls: ['http://example.com'], webhookUrl: 'javascript:alert(1)' },
  { prompt: 'x'.repeat(5000), provider: 'emulator' },
  { prompt: '\u0000\uffff\ud800', provider: 'sora', seconds: 'NaN' },
];

let client: Client;
let startedBefore = 0;
const config = testConfig();

async function countJobs(): Promise<number> {
  return (await client.workflow.count(`TaskQueue STARTS_WITH "${config.TASK_QUEUE_PREFIX}"`)).count;
}

beforeAll(async () => {
  client = await testClient();
  startedBefore = await countJobs();
});
afterAll(async () => {
  await client.connection.close();
});

describe('junk request bodies', () => {
  for (const route of START_ROUTES) {
    test(`${route}: every junk body is a 4xx naming a field`, async () => {
      const app = testApp(config, client);
      for (const body of JUNK_BODIES) {
        const res = await request(app).post(route).set(auth).set('Content-Type', 'application/json').send(JSON.stringify(body));
        expect({ body, status: res.status }).toEqual({ body, status: expect.any(Number) });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(res.body.error.message).toEqual(expect.any(String));
        expect(res.body.error.fields?.[0]?.field ?? 'body').toEqual(expect.any(String));
      }
    });

    test(`${route}: a misspelt field is refused by its name, not ignored`, async () => {
      const app = testApp(config, client);
      const res = await request(app)
        .post(route)
        .set(auth)
        .send({ ...VALID_BODIES[route], webhookURL: 'https://example.com/hook' });
      expect(res.status).toBe(400);
      expect(res.body.error.fields).toEqual([{ field: 'webhookURL', message: 'is not a known field' }]);
    });

    test(`${route}: wrong content types and broken encodings are 4xx`, async () => {
      const app = testApp(config, client);
      const cases: [string, string | Buffer][] = [
        ['text/plain', 'urls=http://example.com'],
        ['application/x-www-form-urlencoded', 'urls=http://example.com'],
        ['application/json', '{"urls": ["http://example.com"'],
        ['application/json', Buffer.from([0xff, 0xfe, 0x00, 0x7b])],
        ['application/json; charset=utf-16', '{}'],
        ['application/json', ''],
      ];
      for (const [type, body] of cases) {
        const res = await request(app).post(route).set(auth).set('Content-Type', type).send(body);
        expect({ type, status: res.status >= 400 && res.status < 500 }).toEqual({ type, status: true });
        expect(res.body.error).toBeDefined();
      }
    });
  }
});

test('odd job ids and file paths are 4xx, never a 5xx or a file outside the job', async () => {
  const app = testApp(config, client);
  const ids = ['%00', 'a'.repeat(2000), '..', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', 'job%20with%20spaces', '💥'];
  for (const id of ids) {
    for (const [method, suffix] of [
      ['get', ''],
      ['post', '/cancel'],
      ['post', '/retry'],
      ['get', '/files/x'],
    ] as const) {
      const res = await request(app)[method](`/api/v1/jobs/${id}${suffix}`).set(auth);
      expect({ id: id.slice(0, 20), suffix, ok: res.status >= 400 && res.status < 500 }).toEqual({ id: id.slice(0, 20), suffix, ok: true });
    }
  }
  const traversal = await request(app).get('/api/v1/jobs/x/files/..%2f..%2fdev-api-key').set(auth);
  expect(traversal.status).toBe(404);
});

test('bad Idempotency-Key and Authorization headers are 4xx', async () => {
  const app = testApp(config, client);
  const longKey = await request(app)
    .post(START_ROUTES[0])
    .set(auth)
    .set('Idempotency-Key', 'k'.repeat(300))
    .send({ urls: ['http://example.com'] });
  expect(longKey.status).toBe(400);
  expect(longKey.body.error.fields[0].field).toBe('Idempotency-Key');
  for (const header of ['Bearer', 'Basic abc', 'Bearer a b', 'bearer  ', 'x'.repeat(10_000)]) {
    const res = await request(app).get('/api/v1/jobs').set('Authorization', header);
    expect(res.status).toBe(401);
  }
});

test('none of the junk started a job', async () => {
  expect(await countJobs()).toBe(startedBefore);
});
