import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import request from 'supertest';
import type { Client } from '@temporalio/client';
import { auth, waitForJobEnd } from './fixtures/bulk-jobs';
import { startTestSite, TestSite } from './fixtures/test-site';
import { startVideoStack, VideoStack, waitForVideoJobEnd } from './fixtures/video-jobs';
import { KEYS, RunningWorkers, startWorkers, testClient, waitFor } from './harness/temporal';

// The OpenAPI document against what the API really answers: real jobs on a real dev server, each
// answer validated with a JSON Schema validator against the response schema the document gives.

interface OpenApiDocument {
  components: { schemas: Record<string, object> };
  paths: Record<string, Record<string, { responses: Record<string, { content?: { 'application/json': { schema: object } } }> }>>;
}

let client: Client;
let stack: VideoStack;
let workers: RunningWorkers;
let site: TestSite;
let doc: OpenApiDocument;
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));

beforeAll(async () => {
  client = await testClient();
  site = await startTestSite({ slowMs: 60_000 });
  stack = await startVideoStack(client, { generationMs: 1_500, workers: false });
  workers = await startWorkers(stack.config);
  const res = await request(stack.app).get('/api/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body as OpenApiDocument;
});
afterAll(async () => {
  await workers?.shutdown();
  await stack?.close();
  await site?.close();
  await client?.connection.close();
});

/** The errors the document's schema for this answer finds in `body` (none: it conforms). */
function violations(path: string, method: string, status: number, body: unknown): string[] {
  const answer = doc.paths[path]?.[method]?.responses[String(status)];
  const schema = answer?.content?.['application/json'].schema;
  if (!schema) return [`the document has no JSON schema for ${method.toUpperCase()} ${path} → ${status}`];
  const validate = ajv.compile({ ...schema, components: doc.components });
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
}

const api = () => request(stack.app);
const JOB = '/api/v1/jobs/{jobId}';

test('every job route documents its answers with schemas generated from zod', () => {
  expect(Object.keys(doc.components.schemas)).toEqual(
    expect.arrayContaining([
      'Error',
      'JobAccepted',
      'JobList',
      'Retrying',
      'Cancelling',
      'ArchivedJob',
      'BulkConversionJob',
      'VideoGenerationJob',
      'PublishingBuildJob',
    ]),
  );
  const bulk = doc.components.schemas.BulkConversionJob as { properties: Record<string, { properties?: Record<string, unknown> }> };
  expect(Object.keys(bulk.properties.result.properties ?? {})).toEqual(expect.arrayContaining(['succeeded', 'resultsUrl', 'results']));
  expect(bulk.properties.webhook).toBeDefined();
  for (const [path, method, status] of [
    ['/api/v1/jobs', 'get', 200],
    [JOB, 'get', 200],
    [JOB, 'get', 404],
    [`${JOB}/cancel`, 'post', 202],
    [`${JOB}/retry`, 'post', 202],
    ['/api/v1/jobs/bulk-conversions', 'post', 202],
    ['/api/v1/jobs/bulk-conversions', 'post', 400],
    ['/api/v1/jobs/video-generations', 'post', 202],
    ['/api/v1/jobs/publishing-builds', 'post', 202],
  ] as const) {
    expect(doc.paths[path][method].responses[String(status)].content?.['application/json'].schema).toBeDefined();
  }
});

test('a bulk job: its 202, status while running and at the end, the list, its retry and errors all match the document', async () => {
  const start = await api()
    .post('/api/v1/jobs/bulk-conversions')
    .set(auth(KEYS.alice))
    .send({ urls: [site.url('/good/1'), site.url('/404')], concurrency: 2 });
  expect(start.status).toBe(202);
  expect(violations('/api/v1/jobs/bulk-conversions', 'post', 202, start.body)).toEqual([]);
  const { jobId } = start.body as { jobId: string };

  const running = await api().get(`/api/v1/jobs/${jobId}`).set(auth(KEYS.alice));
  expect(violations(JOB, 'get', 200, running.body)).toEqual([]);

  const ended = await waitForJobEnd(stack.app, KEYS.alice, jobId);
  expect(ended.status).toBe('completed_with_errors');
  expect(ended.result?.results).toHaveLength(2);
  expect(violations(JOB, 'get', 200, ended)).toEqual([]);
  // The validator is strict: a field the document does not describe, or a wrong type, fails.
  expect(violations(JOB, 'get', 200, { ...ended, surprise: 1 })).not.toEqual([]);
  expect(violations(JOB, 'get', 200, { ...ended, result: { ...ended.result, succeeded: 'one' } })).not.toEqual([]);

  const list = await api().get('/api/v1/jobs?type=bulk-conversion').set(auth(KEYS.alice));
  expect(list.status).toBe(200);
  expect(list.body.jobs.map((j: { jobId: string }) => j.jobId)).toContain(jobId);
  expect(violations('/api/v1/jobs', 'get', 200, list.body)).toEqual([]);

  const retry = await api().post(`/api/v1/jobs/${jobId}/retry`).set(auth(KEYS.alice));
  expect(retry.status).toBe(202);
  expect(violations(`${JOB}/retry`, 'post', 202, retry.body)).toEqual([]);

  const notRunning = await api().post(`/api/v1/jobs/${jobId}/cancel`).set(auth(KEYS.alice));
  expect(notRunning.status).toBe(409);
  expect(violations(`${JOB}/cancel`, 'post', 409, notRunning.body)).toEqual([]);

  const bad = await api()
    .post('/api/v1/jobs/bulk-conversions')
    .set(auth(KEYS.alice))
    .send({ urls: ['ftp://x'], concurrency: 0 });
  expect(bad.status).toBe(400);
  expect(violations('/api/v1/jobs/bulk-conversions', 'post', 400, bad.body)).toEqual([]);

  const missing = await api().get('/api/v1/jobs/bulk-conversion-nope').set(auth(KEYS.alice));
  expect(missing.status).toBe(404);
  expect(violations(JOB, 'get', 404, missing.body)).toEqual([]);
});

test('a cancelled bulk job: the cancel answer and the status with its results file match the document', async () => {
  const start = await api()
    .post('/api/v1/jobs/bulk-conversions')
    .set(auth(KEYS.alice))
    .send({ urls: [site.url('/good/2'), site.url('/slow')], concurrency: 2 });
  const { jobId } = start.body as { jobId: string };
  await waitFor(async () => {
    const job = await api().get(`/api/v1/jobs/${jobId}`).set(auth(KEYS.alice));
    return job.body.progress?.succeeded === 1;
  }, 'the fast page to be converted');
  const cancel = await api().post(`/api/v1/jobs/${jobId}/cancel`).set(auth(KEYS.alice));
  expect(cancel.status).toBe(202);
  expect(violations(`${JOB}/cancel`, 'post', 202, cancel.body)).toEqual([]);
  const ended = await waitForJobEnd(stack.app, KEYS.alice, jobId);
  expect(ended.status).toBe('cancelled');
  expect(violations(JOB, 'get', 200, ended)).toEqual([]);
});

test('a video job: its 202, its progress and its result match the document', async () => {
  const start = await api()
    .post('/api/v1/jobs/video-generations')
    .set(auth(KEYS.alice))
    .send({ prompt: 'a lighthouse at dusk', provider: 'emulator' });
  expect(start.status).toBe(202);
  expect(violations('/api/v1/jobs/video-generations', 'post', 202, start.body)).toEqual([]);
  const { jobId } = start.body as { jobId: string };
  const running = await waitFor(async () => {
    const job = await api().get(`/api/v1/jobs/${jobId}`).set(auth(KEYS.alice));
    return job.body.progress ? job.body : undefined;
  }, 'the video job to report progress');
  expect(violations(JOB, 'get', 200, running)).toEqual([]);
  const ended = await waitForVideoJobEnd(stack.app, KEYS.alice, jobId);
  expect(ended.status).toBe('completed');
  expect(violations(JOB, 'get', 200, ended)).toEqual([]);
});
