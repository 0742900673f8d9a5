import { Router } from 'express';
import { z } from 'zod';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { JOB_OUTCOME, JOB_OWNER, JOB_TYPE } from '../../shared/search-attributes';
import { JOB_TYPES } from '../../shared/jobs';
import { jobStatusUrl, temporalUiUrl } from '../../shared/urls';
import { principalOf } from '../auth';
import type { ApiContext } from '../context';
import { sendJobFile } from '../downloads';
import { HttpError } from '../errors';
import { findJob } from './job-lookup';
import { jobTypeApi } from './registry';
import { statusFromDescription } from './start-job';
import { webhookState } from './webhook-delivery';

const listQuery = z.object({
  type: z.enum(JOB_TYPES).optional(),
  status: z.enum(['running', 'completed', 'completed_with_errors', 'failed', 'cancelled']).optional(),
  owner: z.string().regex(/^([\w.@-]+|\*)$/, 'letters, digits, ".", "_", "@" and "-" only, or * (admins)').optional(),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
  pageToken: z.string().max(4096).regex(/^[A-Za-z0-9_-]*$/, 'not a page token from this API').optional(),
});

const quote = (s: string) => `"${s.replace(/["\\]/g, '')}"`;

export function commonJobRoutes(ctx: ApiContext): Router {
  const r = Router();

  r.get('/', async (req, res) => {
    const q = listQuery.parse(req.query);
    const who = principalOf(res);
    if (q.owner && who.role !== 'admin' && q.owner !== who.owner) throw new HttpError(403, 'forbidden', 'owner: only admins may list other owners\' jobs');
    // Users see their own jobs; admins may name an owner, or "*" for everyone.
    const owner = who.role === 'admin' ? (q.owner ?? who.owner) : who.owner;
    const clauses = [`JobType IN (${JOB_TYPES.map(quote).join(', ')})`, `ExecutionStatus != "ContinuedAsNew"`];
    if (owner !== '*') clauses.push(`JobOwner = ${quote(owner)}`);
    if (q.type) clauses.push(`JobType = ${quote(q.type)}`);
    if (q.status === 'running') clauses.push(`ExecutionStatus = "Running"`);
    else if (q.status) clauses.push(`JobOutcome = ${quote(q.status)}`);
    const page = await ctx.client.workflowService.listWorkflowExecutions({
      namespace: ctx.config.TEMPORAL_NAMESPACE,
      pageSize: q.pageSize,
      nextPageToken: q.pageToken ? Buffer.from(q.pageToken, 'base64url') : undefined,
      query: clauses.join(' AND '),
    });
    const jobs = (page.executions ?? []).map((e) => {
      const attrs = decodeTypedSearchAttributes(e.searchAttributes?.indexedFields);
      const jobId = e.execution?.workflowId ?? '';
      const statusName = ['UNSPECIFIED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT'][e.status ?? 0] ?? 'UNKNOWN';
      return {
        jobId,
        type: attrs.get(JOB_TYPE),
        owner: attrs.get(JOB_OWNER),
        status: statusFromDescription(statusName, attrs.get(JOB_OUTCOME)),
        startedAt: isoTime(e.startTime),
        closedAt: isoTime(e.closeTime),
        statusUrl: jobStatusUrl(ctx.config.publicUrl, jobId),
      };
    });
    const token = page.nextPageToken?.length ? Buffer.from(page.nextPageToken).toString('base64url') : undefined;
    res.json({ jobs, nextPageToken: token });
  });

  r.get('/:jobId', async (req, res) => {
    const job = await findJob(ctx, req.params.jobId, principalOf(res));
    const api = jobTypeApi(job.type);
    const outcome = job.description.typedSearchAttributes.get(JOB_OUTCOME);
    const status = statusFromDescription(job.executionStatus, outcome);
    const body: Record<string, unknown> = {
      jobId: job.jobId,
      type: job.type,
      owner: job.owner,
      status,
      startedAt: job.description.startTime.toISOString(),
      closedAt: job.description.closeTime?.toISOString(),
      temporalUiUrl: temporalUiUrl(ctx.config.TEMPORAL_UI_URL, ctx.config.TEMPORAL_NAMESPACE, job.jobId),
    };
    if (status === 'running') {
      body.progress = await job.handle.query('progress').catch(() => undefined);
    } else if (job.executionStatus === 'COMPLETED') {
      const result = await job.handle.result();
      body.progress = (result as { progress?: unknown })?.progress;
      body.result = api?.presentResult ? await api.presentResult(ctx, job, result) : result;
    } else {
      body.error = await lastFailure(job.handle);
    }
    if (api?.extraFields) Object.assign(body, await api.extraFields(ctx, job));
    body.webhook = await webhookState(ctx, job.jobId);
    res.json(body);
  });

  r.post('/:jobId/cancel', async (req, res) => {
    const job = await findJob(ctx, req.params.jobId, principalOf(res));
    if (job.executionStatus !== 'RUNNING') throw new HttpError(409, 'not_running', `job is not running (status ${job.executionStatus.toLowerCase()})`);
    await job.handle.cancel();
    res.status(202).json({ jobId: job.jobId, status: 'cancelling' });
  });

  r.post('/:jobId/retry', async (req, res) => {
    const who = principalOf(res);
    const job = await findJob(ctx, req.params.jobId, who);
    const api = jobTypeApi(job.type);
    if (!api?.retry) throw new HttpError(409, 'not_retryable', `${job.type} jobs cannot be retried`);
    res.status(202).json(await api.retry(ctx, job, who));
  });

  // Artifacts and result files a job stored under jobs/<jobId>/…, to its owner only.
  r.get('/:jobId/files/*path', (req, res) => sendJobFile(ctx, req, res));

  return r;
}

function isoTime(t: { seconds?: { toString(): string } | number | null; nanos?: number | null } | null | undefined): string | undefined {
  if (!t?.seconds) return undefined;
  return new Date(Number(t.seconds.toString()) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
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
