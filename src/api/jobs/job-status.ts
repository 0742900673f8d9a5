import { JOB_OUTCOME } from '../../shared/search-attributes';
import { temporalUiUrl } from '../../shared/urls';
import type { JobRecord } from '../../storage/job-records';
import { JOBS, jobDefinition } from '../../worker/job-registry';
import type { ApiContext } from '../context';
import type { FoundJob } from './job-lookup';
import { JOB_MEMO, statusFromDescription } from './start-job';
import type { ArchivedJobResponse, jobStatusCommon } from '../response-schemas';
import type { z } from 'zod';

/** GET /api/v1/jobs/:id: the common fields, then the job type's progress, result and fields (their schemas are in each JobTypeApi). */
export type JobStatusBody = z.infer<typeof jobStatusCommon> & { progress?: unknown; result?: unknown } & Record<string, unknown>;

/** GET /api/v1/jobs/:id of a job Temporal still knows: status, progress or result, its type's fields and every job's fields. */
export async function jobStatusBody(ctx: ApiContext, job: FoundJob): Promise<JobStatusBody> {
  const api = jobDefinition(job.type)?.api;
  const outcome = job.description.typedSearchAttributes.get(JOB_OUTCOME);
  const status = statusFromDescription(job.executionStatus, outcome);
  const replayOf = job.description.memo?.[JOB_MEMO.replayOf];
  const body: JobStatusBody = {
    jobId: job.jobId,
    type: job.type,
    owner: job.owner,
    status,
    startedAt: job.description.startTime.toISOString(),
    closedAt: job.description.closeTime?.toISOString(),
    temporalUiUrl: temporalUiUrl(ctx.config.TEMPORAL_UI_URL, ctx.config.TEMPORAL_NAMESPACE, job.jobId),
    ...(typeof replayOf === 'string' ? { replayOf } : {}),
  };
  if (status === 'running') {
    body.progress = api?.progressQuery ? await job.handle.query(api.progressQuery).catch(() => undefined) : undefined;
  } else if (job.executionStatus === 'COMPLETED') {
    const result = await job.handle.result();
    body.progress = (result as { progress?: unknown })?.progress;
    body.result = api?.presentResult ? await api.presentResult(ctx, job, result) : result;
  } else {
    body.error = await lastFailure(job.handle);
  }
  if (api?.extraFields) Object.assign(body, await api.extraFields(ctx, job));
  for (const other of JOBS) if (other.api?.fieldsForEveryJob) Object.assign(body, await other.api.fieldsForEveryJob(ctx, job));
  return body;
}

/** A job Temporal no longer keeps, answered from its record. */
export function recordView(record: JobRecord): ArchivedJobResponse {
  return {
    ...record.view,
    archived: true,
    recordedAt: record.recordedAt,
    ...(record.filesPurgedAt ? { filesPurgedAt: record.filesPurgedAt } : {}),
  };
}

async function lastFailure(handle: { result(): Promise<unknown> }): Promise<string | undefined> {
  try {
    await handle.result();
    return undefined;
  } catch (e) {
    const err = e as Error & { cause?: Error };
    return err.cause?.message ?? err.message;
  }
}
