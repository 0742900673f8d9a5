import { createHash, randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { JOB_OUTCOME, JOB_OWNER, JOB_TYPE } from '../../shared/search-attributes';
import { JOB_OUTCOMES, JobStatus } from '../../shared/jobs';
import { prefixedQueue } from '../../shared/task-queues';
import { jobStatusUrl, temporalUiUrl } from '../../shared/urls';
import type { ApiContext } from '../context';
import { badRequest, HttpError } from '../errors';

export interface JobAccepted {
  jobId: string;
  status: JobStatus;
  statusUrl: string;
  temporalUiUrl: string;
  /** True when an Idempotency-Key matched an existing job. */
  existing: boolean;
}

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
}

/** Memo key holding the hash of the request that started a job. */
const REQUEST_HASH_MEMO = 'requestHash';

export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const key = header.trim();
  if (!key || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw badRequest('Idempotency-Key', 'must be 1-255 visible ASCII characters');
  }
  return key;
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
  return createHash('sha256').update(`${type}\0${canonicalJson(request)}`).digest('hex').slice(0, 32);
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
  try {
    await ctx.client.workflow.start(req.workflow, {
      workflowId: jobId,
      taskQueue: prefixedQueue(ctx.config.TASK_QUEUE_PREFIX, req.taskQueue),
      args: [await req.input(jobId, requestHash)],
      memo: { [REQUEST_HASH_MEMO]: requestHash },
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
export async function existingJobAccepted(ctx: ApiContext, type: string, owner: string, idempotencyKey: string): Promise<JobAccepted | undefined> {
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
