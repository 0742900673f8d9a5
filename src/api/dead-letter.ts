import { createHash } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { temporal } from '@temporalio/proto';
import { JOB_OUTCOME } from '../shared/search-attributes';
import { temporalUiUrl } from '../shared/urls';
import { jobRecordKey, readJobRecord, writeJobRecord } from '../storage/job-records';
import { FailureFilter, JobFailure, listFailures } from '../temporal/job-failures';
import { jobDefinition, STARTABLE_JOB_TYPES } from '../worker/job-registry';
import { principalOf, Principal } from './auth';
import type { ApiContext } from './context';
import { HttpError, notFound } from './errors';
import { findJob, findJobOrRecord, isPlausibleJobId } from './jobs/job-lookup';
import type { JobAccepted } from './response-schemas';
import { JOB_MEMO } from './jobs/start-job';

// The dead-letter view and what an operator does with what it lists: replay (same or edited
// input, one job or every match), reset, purge. Every action is idempotent and logged as an audit line.

const { EventType, ResetReapplyType } = temporal.api.enums.v1;

const MAX_BULK_REPLAY = 500;

const failureFilter = z.object({
  type: z.enum(STARTABLE_JOB_TYPES as [string, ...string[]], { error: `must be one of: ${STARTABLE_JOB_TYPES.join(', ')}` }).optional(),
  owner: z
    .string()
    .regex(/^[\w.@-]{1,200}$/, 'letters, digits, ".", "_", "@" and "-" only')
    .optional(),
  class: z
    .string()
    .regex(/^[\w.-]{1,100}$/, 'a failure class such as terminated, timed_out, items_failed or an ApplicationFailure type')
    .optional(),
  from: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2025-01-31T00:00:00Z' }).optional(),
  to: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2025-01-31T00:00:00Z' }).optional(),
});

const listQuery = failureFilter.extend({
  pageSize: z.coerce
    .number({ error: 'must be an integer' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(100, 'must be at most 100')
    .default(25),
  pageToken: z
    .string()
    .max(4096)
    .regex(/^[A-Za-z0-9_-]*$/, 'not a page token from this API')
    .optional(),
});

const replayBody = z
  .object(
    {
      input: z
        .record(z.string(), z.unknown(), { error: 'must be a JSON object: the start request of the job type, edited' })
        .optional()
        .describe("An edited start request, validated by the job type's own schema; absent → the job's original input"),
    },
    { error: 'must be a JSON object' },
  )
  .strict();

const bulkReplayBody = failureFilter
  .extend({
    limit: z
      .number({ error: 'must be an integer' })
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .max(MAX_BULK_REPLAY, `must be at most ${MAX_BULK_REPLAY}`)
      .default(100),
  })
  .strict();

const resetBody = z
  .object(
    { to: z.enum(['last', 'first'], { error: 'must be "last" (last workflow task) or "first" (the start)' }).default('last') },
    { error: 'must be a JSON object' },
  )
  .strict();

function toFilter(q: z.output<typeof failureFilter>): FailureFilter {
  return {
    type: q.type,
    owner: q.owner,
    class: q.class,
    from: q.from ? new Date(q.from) : undefined,
    to: q.to ? new Date(q.to) : undefined,
  };
}

/** Canonical JSON (sorted keys) so the same edit always names the same replay. */
function hashOf(value: unknown): string {
  const canonical = JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export function deadLetterRoutes(ctx: ApiContext): Router {
  const r = Router();
  const ns = ctx.config.TEMPORAL_NAMESPACE;
  const audit = (who: Principal, action: string, fields: Record<string, unknown>) =>
    ctx.logger.info('admin action', { audit: true, action, admin: who.owner, ...fields });
  const withLinks = (f: JobFailure) => ({ ...f, temporalUiUrl: temporalUiUrl(ctx.config.TEMPORAL_UI_URL, ns, f.jobId) });

  r.get('/failures', async (req, res) => {
    const q = listQuery.parse(req.query);
    const page = await listFailures(
      ctx.client,
      ns,
      ctx.config.TASK_QUEUE_PREFIX,
      toFilter(q),
      q.pageSize,
      q.pageToken ? Buffer.from(q.pageToken, 'base64url') : undefined,
    );
    res.json({ failures: page.failures.map(withLinks), nextPageToken: page.nextPageToken });
  });

  /** Starts the replay of one job: its own input, or `input` validated by its type. Same job + same input → the same new job. */
  async function replay(jobId: string, input: Record<string, unknown> | undefined): Promise<JobAccepted & { replayOf: string }> {
    const job = await findJob(ctx, jobId, { owner: 'admin', role: 'admin' });
    if (job.executionStatus === 'RUNNING')
      throw new HttpError(409, 'not_replayable', 'the job is still running; cancel it first or wait for it to end');
    const jobApi = jobDefinition(job.type)?.api;
    const replayApi = jobApi?.replay;
    const startRoute = jobApi?.startRoute;
    if (!replayApi || !startRoute) throw new HttpError(409, 'not_replayable', `${job.type} jobs cannot be replayed`);
    let body: object;
    if (input) body = input;
    else {
      body = await replayApi.requestOf(ctx, job.jobId);
      const priority = job.description.memo?.[JOB_MEMO.priority];
      if (typeof priority === 'number') body = { ...body, priority };
    }
    const idempotencyKey = input ? `replay-of:${job.jobId}:${hashOf(input)}` : `replay-of:${job.jobId}`;
    try {
      const accepted = await startRoute.start(ctx, job.owner, body, { idempotencyKey, replayOf: job.jobId });
      return { ...accepted, replayOf: job.jobId };
    } catch (e) {
      // The edited input failed the job type's schema: name the fields under `input`.
      if (e instanceof z.ZodError && input) {
        const fields = e.issues.map((i) => ({ field: ['input', ...i.path].join('.'), message: i.message }));
        throw new HttpError(400, 'validation_failed', fields.map((f) => `${f.field}: ${f.message}`).join('; '), fields);
      }
      if (e instanceof HttpError && e.fields && input) {
        const fields = e.fields.map((f) => ({ ...f, field: `input.${f.field}` }));
        throw new HttpError(e.status, e.code, fields.map((f) => `${f.field}: ${f.message}`).join('; '), fields);
      }
      throw e;
    }
  }

  r.post('/jobs/:jobId/replay', async (req, res) => {
    const who = principalOf(res);
    const { input } = replayBody.parse(req.body ?? {});
    const accepted = await replay(req.params.jobId, input);
    audit(who, 'replay', { jobId: req.params.jobId, newJobId: accepted.jobId, edited: Boolean(input), existing: accepted.existing });
    res.status(202).json(accepted);
  });

  r.post('/failures/replay', async (req, res) => {
    const who = principalOf(res);
    const q = bulkReplayBody.parse(req.body ?? {});
    const filter = toFilter(q);
    const replayed: { jobId: string; newJobId: string; existing: boolean }[] = [];
    const failed: { jobId: string; error: string }[] = [];
    let token: Buffer | undefined;
    let matched = 0;
    do {
      const page = await listFailures(ctx.client, ns, ctx.config.TASK_QUEUE_PREFIX, filter, Math.min(100, q.limit - matched), token);
      for (const f of page.failures) {
        matched += 1;
        try {
          const accepted = await replay(f.jobId, undefined);
          replayed.push({ jobId: f.jobId, newJobId: accepted.jobId, existing: accepted.existing });
        } catch (e) {
          failed.push({ jobId: f.jobId, error: e instanceof HttpError ? e.message : (e as Error).message });
        }
      }
      token = page.nextPageToken ? Buffer.from(page.nextPageToken, 'base64url') : undefined;
    } while (token && matched < q.limit);
    audit(who, 'bulk-replay', { filter: q, matched, replayed: replayed.filter((x) => !x.existing).length, failed: failed.length });
    res.status(202).json({ matched, replayed, failed, more: Boolean(token) });
  });

  r.post('/jobs/:jobId/reset', async (req, res) => {
    const who = principalOf(res);
    const { to } = resetBody.parse(req.body ?? {});
    const job = await findJob(ctx, req.params.jobId, who);
    const failedOutcome = job.description.typedSearchAttributes.get(JOB_OUTCOME) === 'failed';
    if (job.executionStatus === 'CANCELLED' || (job.executionStatus === 'COMPLETED' && !failedOutcome)) {
      throw new HttpError(
        409,
        'not_resettable',
        `only a failed, terminated, timed-out or stuck (running) job can be reset; this one is ${job.executionStatus.toLowerCase()}`,
      );
    }
    const runId = job.description.runId;
    const eventId = await resetPoint(ctx, job.jobId, runId, to);
    const reset: temporal.api.workflowservice.v1.IResetWorkflowExecutionResponse = await ctx.client.workflowService.resetWorkflowExecution({
      namespace: ns,
      workflowExecution: { workflowId: job.jobId, runId },
      reason: `reset to the ${to} workflow task by admin ${who.owner} through the API`,
      workflowTaskFinishEventId: eventId,
      // The same request for the same run is one reset, however often it is sent.
      requestId: `reset-${createHash('sha256').update(`${job.jobId}\0${runId}\0${to}`).digest('hex').slice(0, 32)}`,
      resetReapplyType: ResetReapplyType.RESET_REAPPLY_TYPE_SIGNAL,
    });
    const newRunId = reset.runId;
    audit(who, 'reset', { jobId: job.jobId, fromRunId: runId, newRunId, to, eventId: Number(eventId) });
    res
      .status(202)
      .json({ jobId: job.jobId, previousRunId: runId, runId: newRunId, resetTo: to, eventId: Number(eventId), status: 'running' });
  });

  r.delete('/jobs/:jobId', async (req, res) => {
    const who = principalOf(res);
    const jobId = req.params.jobId;
    if (!isPlausibleJobId(jobId)) throw notFound('job');
    const found = await findJobOrRecord(ctx, jobId, who);
    if (!('record' in found) && found.executionStatus === 'RUNNING')
      throw new HttpError(409, 'job_running', 'the job is still running; cancel it first');
    // The record stays (the job still answers GET), marked as purged; every other file goes.
    const record = 'record' in found ? found.record : await readJobRecord(ctx.store, jobId);
    const recordFile = await ctx.store.stat(jobRecordKey(jobId)).catch(() => null);
    const freed = await ctx.store.deleteFolder(`jobs/${jobId}/`);
    if (record) await writeJobRecord(ctx.store, { ...record, filesPurgedAt: record.filesPurgedAt ?? new Date().toISOString() });
    // The record is rewritten at once: it does not count as purged.
    const purged = { files: Math.max(0, freed.files - (recordFile ? 1 : 0)), bytes: Math.max(0, freed.bytes - (recordFile?.bytes ?? 0)) };
    audit(who, 'purge', { jobId, ...purged });
    res.json({ jobId, purged, recordKept: Boolean(record), recordKey: record ? jobRecordKey(jobId) : undefined });
  });

  return r;
}

type EventId = NonNullable<temporal.api.history.v1.IHistoryEvent['eventId']>;

/** The WorkflowTaskCompleted event a reset goes back to: the last one, or the first (the run starts over). */
async function resetPoint(ctx: ApiContext, workflowId: string, runId: string, to: 'last' | 'first'): Promise<EventId> {
  const ns = ctx.config.TEMPORAL_NAMESPACE;
  let token: Uint8Array | undefined;
  do {
    const request = { namespace: ns, execution: { workflowId, runId }, maximumPageSize: 200, nextPageToken: token };
    const page =
      to === 'last'
        ? await ctx.client.workflowService.getWorkflowExecutionHistoryReverse(request)
        : await ctx.client.workflowService.getWorkflowExecutionHistory(request);
    const event = page.history?.events?.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
    if (event?.eventId) return event.eventId;
    token = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (token);
  throw new HttpError(409, 'not_resettable', 'the job has no completed workflow task to reset to');
}
