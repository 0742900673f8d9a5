import { z, type ZodType } from 'zod';
import type { JobTypeApi } from './jobs/job-types';
import {
  archivedJobResponse,
  cancellingResponse,
  errorResponse,
  jobAcceptedResponse,
  jobListResponse,
  jobStatusCommon,
  retryingResponse,
} from './response-schemas';

// The OpenAPI document, generated from the zod schemas the routes validate requests with and
// type their answers by: request bodies from each start route's schema, responses from
// response-schemas.ts and each job type's `responses`.

interface JobEntry {
  type: string;
  api?: JobTypeApi;
}

function jsonSchema(schema: ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
}

/** GET /api/v1/jobs/:id of one job type: the common fields, its progress, result and fields, and the fields every job carries. */
export function jobStatusSchema(type: string, api: JobTypeApi, everyJobFields: z.ZodObject[]): z.ZodObject {
  const responses = api.responses ?? {};
  return jobStatusCommon.extend({
    type: z.literal(type),
    progress: (responses.progress ?? z.unknown()).optional().describe('Live while running; the final counts once ended'),
    result: (responses.result ?? z.unknown()).optional().describe('The result of a completed job'),
    ...responses.fields?.shape,
    ...Object.assign({}, ...everyJobFields.map((f) => f.shape)),
  });
}

const pascal = (type: string) => type.replace(/(^|-)(\w)/g, (_m, _dash, c: string) => c.toUpperCase());
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ 'application/json': { schema } });
const errorAnswer = (description: string) => ({ description, content: json(ref('Error')) });
const errors = {
  '400': errorAnswer('Invalid input; `fields` names each bad field'),
  '401': errorAnswer('Missing or unknown API key'),
  '404': errorAnswer('No such job visible to this key'),
  '503': errorAnswer('Temporal is unavailable; retry shortly'),
};
const jobIdParam = { name: 'jobId', in: 'path', required: true, schema: { type: 'string' } };

export function openApiDocument(jobs: readonly JobEntry[], serverUrl: string): Record<string, unknown> {
  const startable = jobs.filter((j): j is Required<JobEntry> => Boolean(j.api?.startRoute));
  const everyJobFields = jobs.flatMap((j) => (j.api?.responses?.everyJobFields ? [j.api.responses.everyJobFields] : []));
  const schemas: Record<string, unknown> = {
    Error: jsonSchema(errorResponse),
    JobAccepted: jsonSchema(jobAcceptedResponse),
    Retrying: jsonSchema(retryingResponse),
    Cancelling: jsonSchema(cancellingResponse),
    JobList: jsonSchema(jobListResponse),
    ArchivedJob: jsonSchema(archivedJobResponse),
  };
  for (const { type, api } of startable) schemas[`${pascal(type)}Job`] = jsonSchema(jobStatusSchema(type, api, everyJobFields));

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
        responses: {
          '200': { description: 'A page of jobs', content: json(ref('JobList')) },
          '403': errorAnswer("Listing another owner's jobs without the admin role"),
          ...errors,
        },
      },
    },
    '/api/v1/jobs/{jobId}': {
      get: {
        summary: 'Status, progress and result of a job',
        parameters: [jobIdParam],
        responses: {
          '200': {
            description: 'The job, shaped by its type; `archived` once Temporal no longer keeps it',
            content: json({ oneOf: [...startable.map((j) => ref(`${pascal(j.type)}Job`)), ref('ArchivedJob')] }),
          },
          ...errors,
        },
      },
    },
    '/api/v1/jobs/{jobId}/cancel': {
      post: {
        summary: 'Cancel a running job',
        parameters: [jobIdParam],
        responses: {
          '202': { description: 'Cancellation requested', content: json(ref('Cancelling')) },
          '409': errorAnswer('Not running'),
          ...errors,
        },
      },
    },
    '/api/v1/jobs/{jobId}/retry': {
      post: {
        summary: 'Retry the failed part of a job',
        parameters: [jobIdParam],
        responses: {
          '202': {
            description: 'The running job re-runs its failed items, or a new job runs them',
            content: json({ oneOf: [ref('Retrying'), ref('JobAccepted')] }),
          },
          '409': errorAnswer('Nothing to retry, or this job type cannot be retried'),
          ...errors,
        },
      },
    },
    '/api/v1/jobs/{jobId}/files/{path}': {
      get: {
        summary: 'Download an artifact or result file of a job',
        parameters: [jobIdParam, { name: 'path', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: 'The file' }, ...errors },
      },
    },
    '/api/admin/queues': {
      get: {
        summary: 'Per-queue pollers, per-type counts, recent failures (admin)',
        responses: { '200': { description: 'Queue overview' }, '403': errorAnswer('Not an admin key') },
      },
    },
  };
  for (const { api } of startable) {
    const route = api.startRoute!;
    paths[`/api/v1/jobs${route.path}`] = {
      post: {
        summary: route.summary,
        parameters: [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 } }],
        requestBody: { required: true, content: json(jsonSchema(route.body, 'input')) },
        responses: {
          '202': { description: 'Job accepted (or the job an Idempotency-Key already started)', content: json(ref('JobAccepted')) },
          '413': errorAnswer('The body or the job input is too large'),
          '422': errorAnswer('The Idempotency-Key was already used with a different request'),
          ...errors,
        },
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
      schemas,
    },
    paths,
  };
}
