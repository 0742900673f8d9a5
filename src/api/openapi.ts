import { z } from 'zod';
import type { JobTypeApi } from './jobs/job-types';

// The OpenAPI document, built from the same zod schemas the routes validate with.

const errorBody = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        fields: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
      },
      required: ['code', 'message'],
    },
  },
};
const accepted = {
  type: 'object',
  properties: {
    jobId: { type: 'string' },
    status: { type: 'string' },
    statusUrl: { type: 'string', format: 'uri' },
    temporalUiUrl: { type: 'string', format: 'uri' },
    existing: { type: 'boolean' },
  },
  required: ['jobId', 'status', 'statusUrl', 'temporalUiUrl'],
};
const json = (schema: object) => ({ 'application/json': { schema } });
const errors = {
  '400': { description: 'Invalid input; `fields` names each bad field', content: json({ $ref: '#/components/schemas/Error' }) },
  '401': { description: 'Missing or unknown API key', content: json({ $ref: '#/components/schemas/Error' }) },
  '404': { description: 'No such job visible to this key', content: json({ $ref: '#/components/schemas/Error' }) },
};
const jobIdParam = { name: 'jobId', in: 'path', required: true, schema: { type: 'string' } };

export function openApiDocument(jobTypes: JobTypeApi[], serverUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {
    '/health': { get: { summary: 'Liveness', security: [], responses: { '200': { description: 'The process is alive' } } } },
    '/health/ready': {
      get: {
        summary: 'Readiness: Temporal answers and every task queue has a polling worker',
        security: [],
        responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready; `failed` lists the failed checks' } },
      },
    },
    '/api/v1/jobs': {
      get: {
        summary: "List the caller's jobs",
        parameters: ['type', 'status', 'owner', 'pageSize', 'pageToken'].map((name) => ({ name, in: 'query', schema: { type: 'string' } })),
        responses: { '200': { description: 'A page of jobs and `nextPageToken`' }, ...errors },
      },
    },
    '/api/v1/jobs/{jobId}': {
      get: { summary: 'Status, progress and result of a job', parameters: [jobIdParam], responses: { '200': { description: 'The job' }, ...errors } },
    },
    '/api/v1/jobs/{jobId}/cancel': {
      post: { summary: 'Cancel a running job', parameters: [jobIdParam], responses: { '202': { description: 'Cancellation requested' }, '409': { description: 'Not running' }, ...errors } },
    },
    '/api/v1/jobs/{jobId}/retry': {
      post: { summary: 'Retry the failed part of a job', parameters: [jobIdParam], responses: { '202': { description: 'Retrying, or a new job', content: json(accepted) }, ...errors } },
    },
    '/api/v1/jobs/{jobId}/files/{path}': {
      get: {
        summary: 'Download an artifact or result file of a job',
        parameters: [jobIdParam, { name: 'path', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: 'The file' }, ...errors },
      },
    },
    '/api/admin/queues': {
      get: { summary: 'Per-queue pollers, per-type counts, recent failures (admin)', responses: { '200': { description: 'Queue overview' }, '403': { description: 'Not an admin key' } } },
    },
  };
  for (const jt of jobTypes) {
    if (!jt.startRoute) continue;
    paths[`/api/v1/jobs${jt.startRoute.path}`] = {
      post: {
        summary: jt.startRoute.summary,
        parameters: [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 } }],
        requestBody: { required: true, content: json(z.toJSONSchema(jt.startRoute.body, { io: 'input', unrepresentable: 'any' })) },
        responses: { '202': { description: 'Job accepted', content: json(accepted) }, ...errors },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'durable-jobs', version: '0.1.0', description: 'Background jobs as durable Temporal workflows.' },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key from API_KEYS' } },
      schemas: { Error: errorBody },
    },
    paths,
  };
}
