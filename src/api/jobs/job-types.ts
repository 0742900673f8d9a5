import type { Router } from 'express';
import type { ZodType } from 'zod';
import type { WorkflowHandle } from '@temporalio/client';
import type { JobType } from '../../shared/jobs';
import type { Principal } from '../auth';
import type { ApiContext } from '../context';
import type { JobAccepted } from './start-job';

export interface JobView {
  jobId: string;
  type: JobType;
  owner: string;
  handle: WorkflowHandle;
  /** Temporal execution status name, e.g. RUNNING, COMPLETED, CANCELLED. */
  executionStatus: string;
}

/**
 * What each job type adds to the common job routes. Each type lives in its own file
 * under src/api/jobs/ and is listed in registry.ts.
 */
export interface JobTypeApi {
  type: JobType;
  /** Mounted at /api/v1/jobs: typically `POST /<plural>` to start a job. */
  router(ctx: ApiContext): Router;
  /** A start route that takes more than BODY_LIMIT (e.g. 100,000 URLs): `POST /api/v1/jobs<path>` parses with this limit in bytes. */
  largeBody?: { path: string; limit(ctx: ApiContext): number };
  /** Describes the start route for the OpenAPI document; `body` is the same zod schema the route validates with. */
  startRoute?: { path: string; summary: string; body: ZodType };
  /** Reshapes the workflow result for GET /jobs/:id (e.g. blob keys → download URLs). */
  presentResult?(ctx: ApiContext, job: JobView, result: unknown): Promise<unknown> | unknown;
  /** Extra fields for GET /jobs/:id (e.g. webhook delivery state). */
  extraFields?(ctx: ApiContext, job: JobView): Promise<Record<string, unknown>>;
  /** POST /jobs/:id/retry. Absent → 409 "this job type cannot be retried". */
  retry?(ctx: ApiContext, job: JobView, principal: Principal): Promise<JobAccepted | { jobId: string; status: 'retrying' }>;
}
