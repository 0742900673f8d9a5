import { createHash, randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import type { PlatformConfig } from '../../config/env';
import { DEFAULT_PRIORITY, HIGHEST_PRIORITY, LOWEST_PRIORITY, priorityVariable } from '../../shared/priority';
import { JOB_OUTCOME, JOB_OWNER, JOB_TYPE } from '../../shared/search-attributes';
import { JOB_OUTCOMES, JobStatus } from '../../shared/jobs';
import { prefixedQueue } from '../../shared/task-queues';
import { jobStatusUrl, temporalUiUrl } from '../../shared/urls';
import { principalOf } from '../auth';
import type { ApiContext } from '../context';
import { badRequest, HttpError } from '../errors';
import type { JobAccepted } from '../response-schemas';
import type { JobTypeApi } from './job-types';

export interface StartJobRequest<Input> {
  type: string;
  owner: string;
  idempotencyKey?: string;
  workflow: (input: Input) => Promise<unknown>;
  /** Base name of the queue the workflow runs on. */
  taskQueue: string;
  /** The validated request; its hash binds an Idempotency-Key to this exact request. */
  request: unknown;
  /** Builds the workflow argument once the job id and request hash are known (may store large inputs first). */
  input: (jobId: string, requestHash: string) => Input | Promise<Input>;
  /** 1 (highest) … 5 (lowest); absent → the type's JOB_PRIORITY_<TYPE>. */
  priority?: number;
  /** One line that says what the job is, shown in Temporal Web's workflow list (without the owner; it is added). */
  summary?: string;
  /** A few more lines for the workflow's page in Temporal Web (Markdown). */
  details?: string;
  /** The job this one replays (admin replay). */
  replayOf?: string;
}

/** The optional `priority` of every start request; each job type puts it in its body schema. */
export const priorityField = z
  .number({ error: `must be an integer from ${HIGHEST_PRIORITY} (highest) to ${LOWEST_PRIORITY} (lowest)` })
  .int(`must be an integer from ${HIGHEST_PRIORITY} (highest) to ${LOWEST_PRIORITY} (lowest)`)
  .min(HIGHEST_PRIORITY, `must be at least ${HIGHEST_PRIORITY} (the highest priority)`)
  .max(LOWEST_PRIORITY, `must be at most ${LOWEST_PRIORITY} (the lowest priority)`)
  .optional()
  .describe(
    `Temporal priority key: ${HIGHEST_PRIORITY} runs first … ${LOWEST_PRIORITY} last; default per job type (JOB_PRIORITY_<TYPE>, else ${DEFAULT_PRIORITY})`,
  );

/** A type's default priority (JOB_PRIORITY_<TYPE>). */
export function defaultPriority(config: PlatformConfig, type: string): number {
  const value = (config as unknown as Record<string, unknown>)[priorityVariable(type)];
  return typeof value === 'number' ? value : DEFAULT_PRIORITY;
}

/** Memo keys a job carries from its start: what it is (for the dead-letter view and records) and where it came from. */
export const JOB_MEMO = { requestHash: 'requestHash', summary: 'summary', replayOf: 'replayOf', priority: 'priority' } as const;

const REQUEST_HASH_MEMO = JOB_MEMO.requestHash;

export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const key = header.trim();
  if (!key || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw badRequest('Idempotency-Key', 'must be 1-255 visible ASCII characters');
  }
  return key;
}

/** A job type's start route: reads the Idempotency-Key, lets the type validate the body and start the job, answers 202 with the accepted job. */
export function startRouter(ctx: ApiContext, route: NonNullable<JobTypeApi['startRoute']>): Router {
  const r = Router();
  r.post(route.path, async (req, res) => {
    const idempotencyKey = parseIdempotencyKey(req.get('Idempotency-Key'));
    res.status(202).json(await route.start(ctx, principalOf(res).owner, req.body, { idempotencyKey }));
  });
  return r;
}

/** Temporal limits fairness keys to 64 bytes; longer owner names are cut (they stay distinct enough to share fairly). */
function fairnessKeyOf(owner: string): string {
  return Buffer.from(owner)
    .subarray(0, 64)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}

/** Job id = workflow id. With an idempotency key it is derived from (owner, key), so a retried request maps to the same workflow. */
export function jobIdFor(type: string, owner: string, idempotencyKey?: string): string {
  if (!idempotencyKey) return `${type}-${randomUUID()}`;
  const h = createHash('sha256').update(`${owner}\0${idempotencyKey}`).digest('hex').slice(0, 32);
  return `${type}-${h}`;
}

/** JSON with sorted keys, so the same request always hashes the same. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

export function requestHashOf(type: string, request: unknown): string {
  return createHash('sha256')
    .update(`${type}\0${canonicalJson(request)}`)
    .digest('hex')
    .slice(0, 32);
}

export function acceptedView(ctx: ApiContext, jobId: string, status: JobStatus, existing: boolean): JobAccepted {
  return {
    jobId,
    status,
    statusUrl: jobStatusUrl(ctx.config.publicUrl, jobId),
    temporalUiUrl: temporalUiUrl(ctx.config.TEMPORAL_UI_URL, ctx.config.TEMPORAL_NAMESPACE, jobId),
    existing,
  };
}

export async function startJob<Input>(ctx: ApiContext, req: StartJobRequest<Input>): Promise<JobAccepted> {
  const jobId = jobIdFor(req.type, req.owner, req.idempotencyKey);
  const requestHash = requestHashOf(req.type, req.request);
  if (req.idempotencyKey) {
    const existing = await existingJob(ctx, jobId);
    if (existing) return sameRequestOrRefuse(ctx, jobId, existing, requestHash, req.idempotencyKey);
  }
  const priority = req.priority ?? defaultPriority(ctx.config, req.type);
  const summary = req.summary ? `${req.summary} · ${req.owner}` : undefined;
  try {
    await ctx.client.workflow.start(req.workflow, {
      workflowId: jobId,
      taskQueue: prefixedQueue(ctx.config.TASK_QUEUE_PREFIX, req.taskQueue),
      args: [await req.input(jobId, requestHash)],
      memo: {
        [JOB_MEMO.requestHash]: requestHash,
        [JOB_MEMO.priority]: priority,
        ...(summary ? { [JOB_MEMO.summary]: summary } : {}),
        ...(req.replayOf ? { [JOB_MEMO.replayOf]: req.replayOf } : {}),
      },
      // Activities and child workflows inherit both keys: the priority orders a backed-up queue,
      // the owner as fairness key shares it between owners so one large job cannot starve the rest.
      priority: { priorityKey: priority, fairnessKey: fairnessKeyOf(req.owner) },
      staticSummary: summary,
      staticDetails: req.details,
      typedSearchAttributes: [
        { key: JOB_TYPE, value: req.type },
        { key: JOB_OWNER, value: req.owner },
      ],
      // Two concurrent requests with one key: the second attaches to the first run.
      // A finished job is never re-run under the same id.
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError && req.idempotencyKey)) throw e;
  }
  if (!req.idempotencyKey) return acceptedView(ctx, jobId, 'running', false);
  // A concurrent request with the same key may have started the job first.
  const started = await existingJob(ctx, jobId);
  if (!started) throw new HttpError(503, 'temporal_unavailable', 'the job was started but cannot be read yet; retry the request');
  if (started.requestHash !== requestHash) return sameRequestOrRefuse(ctx, jobId, started, requestHash, req.idempotencyKey);
  return acceptedView(ctx, jobId, started.status, false);
}

/** The job an idempotency key already started, if any. */
export async function existingJobAccepted(
  ctx: ApiContext,
  type: string,
  owner: string,
  idempotencyKey: string,
): Promise<JobAccepted | undefined> {
  const jobId = jobIdFor(type, owner, idempotencyKey);
  const job = await existingJob(ctx, jobId);
  return job && acceptedView(ctx, jobId, job.status, true);
}

interface ExistingJob {
  status: JobStatus;
  requestHash?: string;
}

function sameRequestOrRefuse(ctx: ApiContext, jobId: string, job: ExistingJob, requestHash: string, key: string): JobAccepted {
  // Jobs started before request hashes were kept carry none: they match any request.
  if (job.requestHash && job.requestHash !== requestHash) {
    throw new HttpError(
      422,
      'idempotency_key_reused',
      `Idempotency-Key "${key}" was already used with a different request (job ${jobId}); use a new key for a new request`,
      [{ field: 'Idempotency-Key', message: 'already used with a different request' }],
    );
  }
  return acceptedView(ctx, jobId, job.status, true);
}

async function existingJob(ctx: ApiContext, jobId: string): Promise<ExistingJob | undefined> {
  try {
    const d = await ctx.client.workflow.getHandle(jobId).describe();
    const requestHash = d.memo?.[REQUEST_HASH_MEMO];
    return {
      status: statusFromDescription(d.status.name, d.typedSearchAttributes.get(JOB_OUTCOME)),
      requestHash: typeof requestHash === 'string' ? requestHash : undefined,
    };
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
}

/** Maps Temporal's execution status (and the JobOutcome attribute) to the API's job status. */
export function statusFromDescription(executionStatus: string | undefined, outcome: string | undefined): JobStatus {
  if (executionStatus === 'RUNNING' || executionStatus === 'CONTINUED_AS_NEW') return 'running';
  if (outcome && (JOB_OUTCOMES as readonly string[]).includes(outcome)) return outcome as JobStatus;
  if (executionStatus === 'CANCELLED') return 'cancelled';
  if (executionStatus === 'COMPLETED') return 'completed';
  return 'failed';
}
