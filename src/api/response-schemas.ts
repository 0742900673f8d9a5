import { z } from 'zod';
import { JOB_STATUSES } from '../shared/jobs';

// The bodies the platform's job routes answer with. Handlers are typed with z.infer of these
// schemas and the OpenAPI document is generated from them, so the two cannot disagree.

type SameType<A, B> = [A] extends [B] ? ([B] extends [A] ? unknown : never) : never;

/**
 * A schema that describes the contract type T exactly: it does not compile (the argument becomes
 * `never`) when the schema's output and T differ, so a contract change forces its schema to follow.
 */
export function schemaOf<T>() {
  return <S extends z.ZodType>(schema: S & SameType<z.output<S>, T>): S => schema;
}

export const fieldProblemSchema = z.object({ field: z.string(), message: z.string() });

export const errorResponse = z.object({
  error: z.object({
    code: z.string().describe('Machine-readable, e.g. validation_failed, not_found, idempotency_key_reused'),
    message: z.string(),
    fields: z.array(fieldProblemSchema).optional().describe('Each bad field and what is wrong with it'),
  }),
});

const jobStatus = z.enum(JOB_STATUSES);

export const jobAcceptedResponse = z.object({
  jobId: z.string(),
  status: jobStatus,
  statusUrl: z.url(),
  temporalUiUrl: z.url(),
  existing: z.boolean().describe('True when an Idempotency-Key matched an existing job'),
});
export type JobAccepted = z.infer<typeof jobAcceptedResponse>;

export const retryingResponse = z.object({
  jobId: z.string(),
  status: z.literal('retrying'),
  retrying: z.number().int().optional().describe('How many items the running job re-runs'),
});
export type RetryingResponse = z.infer<typeof retryingResponse>;

export const cancellingResponse = z.object({ jobId: z.string(), status: z.literal('cancelling') });
export type CancellingResponse = z.infer<typeof cancellingResponse>;

export const jobListResponse = z.object({
  jobs: z.array(
    z.object({
      jobId: z.string(),
      type: z.string().optional(),
      owner: z.string().optional(),
      status: jobStatus,
      startedAt: z.iso.datetime().optional(),
      closedAt: z.iso.datetime().optional(),
      statusUrl: z.url(),
    }),
  ),
  nextPageToken: z.string().optional().describe('Pass as ?pageToken= for the next page; absent on the last page'),
});
export type JobListResponse = z.infer<typeof jobListResponse>;

/** Fields of GET /api/v1/jobs/:id that every job has; each job type adds its progress, result and fields. */
export const jobStatusCommon = z.object({
  jobId: z.string(),
  type: z.string(),
  owner: z.string(),
  status: jobStatus,
  startedAt: z.iso.datetime(),
  closedAt: z.iso.datetime().optional(),
  temporalUiUrl: z.url(),
  replayOf: z.string().optional().describe('The job this one replays (admin replay)'),
  error: z.string().optional().describe('Why a failed, cancelled or terminated job ended'),
});

/** A job Temporal no longer keeps, answered from its record: the status view it last had, marked archived. */
export const archivedJobResponse = z.looseObject({
  archived: z.literal(true),
  recordedAt: z.iso.datetime(),
  filesPurgedAt: z.iso.datetime().optional(),
  resultTruncated: z.boolean().optional(),
});
export type ArchivedJobResponse = z.infer<typeof archivedJobResponse>;
