import { WorkflowNotFoundError } from '@temporalio/client';
import { JOB_OWNER, JOB_TYPE } from '../../shared/search-attributes';
import type { Principal } from '../auth';
import type { ApiContext } from '../context';
import { HttpError, notFound } from '../errors';
import { defaultPayloadConverter } from '@temporalio/common';
import { jobDefinition } from '../../worker/job-registry';
import { JobRecord, readJobRecord } from '../../storage/job-records';
import type { JobView } from './job-types';

export type FoundJob = JobView & { description: Awaited<ReturnType<JobView['handle']['describe']>> };

/** Job ids are workflow ids the API made (type-uuid or type-hash); anything else cannot name a job or its files. */
export function isPlausibleJobId(jobId: string): boolean {
  return /^[A-Za-z0-9][\w.@:-]{0,254}$/.test(jobId) && !jobId.includes('..');
}

/**
 * Finds a job the caller may see. Another owner's job is reported as not found
 * (not forbidden) so job ids cannot be probed. Admins see every job.
 */
export async function findJob(ctx: ApiContext, jobId: string, who: Principal): Promise<FoundJob> {
  const handle = ctx.client.workflow.getHandle(jobId);
  let description;
  try {
    description = await handle.describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw notFound('job');
    throw e;
  }
  const type = description.typedSearchAttributes.get(JOB_TYPE);
  const owner = description.typedSearchAttributes.get(JOB_OWNER);
  if (!type || !owner || !jobDefinition(type)?.api) throw notFound('job');
  if (owner !== who.owner && who.role !== 'admin') throw notFound('job');
  return { jobId, type, owner, handle, executionStatus: description.status.name, description };
}

/**
 * A job Temporal still knows, or else the record it left (jobs/<id>/job.json) once retention
 * removed the workflow. The same visibility rule: other owners' jobs are not found.
 */
export async function findJobOrRecord(
  ctx: ApiContext,
  jobId: string,
  who: Principal,
): Promise<FoundJob | { record: JobRecord; jobId: string; owner: string; type: string }> {
  try {
    return await findJob(ctx, jobId, who);
  } catch (e) {
    if (!(e instanceof HttpError && e.status === 404) || !isPlausibleJobId(jobId)) throw e;
    const record = await readJobRecord(ctx.store, jobId);
    if (!record || (record.owner !== who.owner && who.role !== 'admin')) throw e;
    return { record, jobId, owner: record.owner, type: record.type };
  }
}

/** The input a job's latest run started with (continue-as-new carries the settings along), for retries. */
export async function jobStartInput<T>(ctx: ApiContext, jobId: string): Promise<T> {
  const page = await ctx.client.workflowService.getWorkflowExecutionHistory({
    namespace: ctx.config.TEMPORAL_NAMESPACE,
    execution: { workflowId: jobId },
    maximumPageSize: 1,
  });
  const payload = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new HttpError(409, 'not_retryable', "the job's input could not be read");
  return defaultPayloadConverter.fromPayload<T>(payload);
}
