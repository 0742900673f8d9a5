import type { Router } from 'express';
import type { z, ZodObject, ZodType } from 'zod';
import type { WorkflowHandle } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import type { PlatformConfig } from '../../config/env';
import type { Principal } from '../auth';
import type { ApiContext } from '../context';
import type { JobAccepted, RetryingResponse } from '../response-schemas';

export interface JobView {
  jobId: string;
  type: string;
  owner: string;
  handle: WorkflowHandle;
  /** Temporal execution status name, e.g. RUNNING, COMPLETED, CANCELLED. */
  executionStatus: string;
}

/**
 * Schemas of what a job type adds to GET /jobs/:id: its `progress`, its presented `result`, its
 * extra fields, and the fields it adds to every job. The OpenAPI document is generated from them,
 * and the JobTypeApi methods that produce those values are typed by them.
 */
export interface JobResponseSchemas {
  progress?: ZodType;
  result?: ZodType;
  fields?: ZodObject;
  everyJobFields?: ZodObject;
}

type OutputOf<S, Otherwise> = S extends ZodType ? z.output<S> : Otherwise;

/**
 * What a job type adds to the API: its start route, how its results read, its retry. Lives in
 * src/api/jobs/<job>.ts and is listed in the job registry. Methods, so each job type can narrow
 * `ctx.config` to the variables it reads.
 */
export interface JobTypeApi<Config extends PlatformConfig = PlatformConfig, R extends JobResponseSchemas = JobResponseSchemas> {
  /** Zod schemas of what this type adds to GET /jobs/:id (see JobResponseSchemas). */
  responses?: R;
  /** The `progress` query of the job's workflow (from its contract), read while the job runs. */
  progressQuery?: QueryDefinition<OutputOf<R['progress'], unknown>>;
  /** Mounted at /api/v1/jobs: routes beyond the start route (e.g. a build's log). */
  router?(ctx: ApiContext<Config>): Router;
  /** Mounted at /api/admin behind the admin role. */
  adminRouter?(ctx: ApiContext<Config>): Router;
  /** A start route that takes more than BODY_LIMIT (e.g. 100,000 URLs): `POST /api/v1/jobs<path>` parses with this limit in bytes. */
  largeBody?: { path: string; limit(ctx: ApiContext<Config>): number };
  /**
   * `POST /api/v1/jobs<path>` starts a job. `body` is the zod schema of the request (also its
   * OpenAPI request body); `start` validates a request with it (a client's body, or an edited
   * input at admin replay) and starts the job.
   */
  startRoute?: {
    path: string;
    summary: string;
    body: ZodType;
    start(
      ctx: ApiContext<Config>,
      owner: string,
      body: unknown,
      options: { idempotencyKey?: string; replayOf?: string },
    ): Promise<JobAccepted>;
  };
  /** Reshapes the workflow result for GET /jobs/:id (e.g. blob keys → download URLs). */
  presentResult?(
    ctx: ApiContext<Config>,
    job: JobView,
    result: unknown,
  ): Promise<OutputOf<R['result'], unknown>> | OutputOf<R['result'], unknown>;
  /** Extra fields for GET /jobs/:id of this type's jobs. */
  extraFields?(ctx: ApiContext<Config>, job: JobView): Promise<OutputOf<R['fields'], Record<string, unknown>>>;
  /** Fields this job type adds to GET /jobs/:id of every job (e.g. the state of its webhook). */
  fieldsForEveryJob?(ctx: ApiContext<Config>, job: JobView): Promise<OutputOf<R['everyJobFields'], Record<string, unknown>>>;
  /** Admin replay (POST /api/admin/jobs/:id/replay) rebuilds the start request a job was started with, as a client would send it, and starts it again through `startRoute`. */
  replay?: {
    requestOf(ctx: ApiContext<Config>, jobId: string): Promise<object>;
  };
  /** POST /jobs/:id/retry (`options.query`: the request's query, e.g. ?nextBuildNumber=1). Absent → 409 "this job type cannot be retried". */
  retry?(
    ctx: ApiContext<Config>,
    job: JobView,
    principal: Principal,
    options?: { query: Record<string, unknown> },
  ): Promise<JobAccepted | RetryingResponse>;
}
