import { createHash, randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { JOB_OUTCOME, JOB_OWNER, JOB_TYPE } from '../../shared/search-attributes';
import { JOB_OUTCOMES, JobStatus, JobType } from '../../shared/jobs';
import { prefixedQueue, TaskQueueBase } from '../../shared/task-queues';
import { jobStatusUrl, temporalUiUrl } from '../../shared/urls';
import type { ApiContext } from '../context';
import { badRequest } from '../errors';

export interface JobAccepted {
  jobId: string;
  status: JobStatus;
  statusUrl: string;
  temporalUiUrl: string;
  /** True when an Idempotency-Key matched an existing job. */
  existing: boolean;
}

export interface StartJobRequest {
  type: JobType;
  owner: string;
  idempotencyKey?: string;
  workflowType: string;
  taskQueue: TaskQueueBase;
  /** Builds the workflow argument once the job id is known (may store large inputs first). */
  input: (jobId: string) => unknown | Promise<unknown>;
}

export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const key = header.trim();
  if (!key || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw badRequest('Idempotency-Key', 'must be 1-255 visible ASCII characters');
  }
  return key;
}

/** Job id = workflow id. With an idempotency key it is derived from (owner, key), so a retried request maps to the same workflow. */
export function jobIdFor(type: JobType, owner: string, idempotencyKey?: string): string {
  if (!idempotencyKey) return `${type}-${randomUUID()}`;
  const h = createHash('sha256').update(`${owner}\0${idempotencyKey}`).digest('hex').slice(0, 32);
  return `${type}-${h}`;
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

export async function startJob(ctx: ApiContext, req: StartJobRequest): Promise<JobAccepted> {
  const jobId = jobIdFor(req.type, req.owner, req.idempotencyKey);
  if (req.idempotencyKey) {
    const existing = await existingJobStatus(ctx, jobId);
    if (existing) return acceptedView(ctx, jobId, existing, true);
  }
  try {
    await ctx.client.workflow.start(req.workflowType, {
      workflowId: jobId,
      taskQueue: prefixedQueue(ctx.config.TASK_QUEUE_PREFIX, req.taskQueue),
      args: [await req.input(jobId)],
      typedSearchAttributes: [
        { key: JOB_TYPE, value: req.type },
        { key: JOB_OWNER, value: req.owner },
      ],
      // Two concurrent requests with one key: the second attaches to the first run.
      // A finished job is never re-run under the same id.
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
    return acceptedView(ctx, jobId, 'running', false);
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError && req.idempotencyKey) {
      return acceptedView(ctx, jobId, (await existingJobStatus(ctx, jobId)) ?? 'running', true);
    }
    throw e;
  }
}

async function existingJobStatus(ctx: ApiContext, jobId: string): Promise<JobStatus | undefined> {
  try {
    const d = await ctx.client.workflow.getHandle(jobId).describe();
    return statusFromDescription(d.status.name, d.typedSearchAttributes.get(JOB_OUTCOME));
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
