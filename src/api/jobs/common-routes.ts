import { Router } from 'express';
import { z } from 'zod';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { JOB_OUTCOME, JOB_OWNER, JOB_TYPE } from '../../shared/search-attributes';
import { JOB_STATUSES } from '../../shared/jobs';
import { jobStatusUrl } from '../../shared/urls';
import { principalOf } from '../auth';
import type { ApiContext } from '../context';
import { sendJobFile } from '../downloads';
import { HttpError } from '../errors';
import { findJob, findJobOrRecord } from './job-lookup';
import { jobStatusBody, recordView } from './job-status';
import { statusFromDescription } from './start-job';
import { jobDefinition, STARTABLE_JOB_TYPES } from '../../worker/job-registry';
import { jobScopeClauses, statusName } from '../../temporal/job-failures';
import { isoTime } from '../../temporal/timestamps';
import type { CancellingResponse, JobListResponse } from '../response-schemas';

const listQuery = z.object({
  type: z.enum(STARTABLE_JOB_TYPES as [string, ...string[]], { error: `must be one of: ${STARTABLE_JOB_TYPES.join(', ')}` }).optional(),
  status: z.enum(JOB_STATUSES, { error: `must be one of: ${JOB_STATUSES.join(', ')}` }).optional(),
  owner: z
    .string()
    .regex(/^([\w.@-]+|\*)$/, 'letters, digits, ".", "_", "@" and "-" only, or * (admins)')
    .optional(),
  pageSize: z.coerce
    .number({ error: 'must be an integer' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(200, 'must be at most 200')
    .default(50),
  pageToken: z
    .string()
    .max(4096)
    .regex(/^[A-Za-z0-9_-]*$/, 'not a page token from this API')
    .optional(),
});

const quote = (s: string) => `"${s.replace(/["\\]/g, '')}"`;

export function commonJobRoutes(ctx: ApiContext): Router {
  const r = Router();

  r.get('/', async (req, res) => {
    const q = listQuery.parse(req.query);
    const who = principalOf(res);
    if (q.owner && who.role !== 'admin' && q.owner !== who.owner)
      throw new HttpError(403, 'forbidden', "owner: only admins may list other owners' jobs");
    // Users see their own jobs; admins may name an owner, or "*" for everyone.
    const owner = who.role === 'admin' ? (q.owner ?? who.owner) : who.owner;
    // This deployment's jobs only: TASK_QUEUE_PREFIX separates environments sharing a namespace.
    const clauses = [...jobScopeClauses(ctx.config.TASK_QUEUE_PREFIX), `ExecutionStatus != "ContinuedAsNew"`];
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
    const jobs = (page.executions ?? []).map((e): JobListResponse['jobs'][number] => {
      const attrs = decodeTypedSearchAttributes(e.searchAttributes?.indexedFields);
      const jobId = e.execution?.workflowId ?? '';
      return {
        jobId,
        type: attrs.get(JOB_TYPE),
        owner: attrs.get(JOB_OWNER),
        status: statusFromDescription(statusName(e.status), attrs.get(JOB_OUTCOME)),
        startedAt: isoTime(e.startTime),
        closedAt: isoTime(e.closeTime),
        statusUrl: jobStatusUrl(ctx.config.publicUrl, jobId),
      };
    });
    const token = page.nextPageToken?.length ? Buffer.from(page.nextPageToken).toString('base64url') : undefined;
    res.json({ jobs, nextPageToken: token } satisfies JobListResponse);
  });

  r.get('/:jobId', async (req, res) => {
    const found = await findJobOrRecord(ctx, req.params.jobId, principalOf(res));
    res.json('record' in found ? recordView(found.record) : await jobStatusBody(ctx, found));
  });

  r.post('/:jobId/cancel', async (req, res) => {
    const job = await findJob(ctx, req.params.jobId, principalOf(res));
    if (job.executionStatus !== 'RUNNING')
      throw new HttpError(409, 'not_running', `job is not running (status ${job.executionStatus.toLowerCase()})`);
    await job.handle.cancel();
    res.status(202).json({ jobId: job.jobId, status: 'cancelling' } satisfies CancellingResponse);
  });

  r.post('/:jobId/retry', async (req, res) => {
    const who = principalOf(res);
    const job = await findJob(ctx, req.params.jobId, who);
    const api = jobDefinition(job.type)?.api;
    if (!api?.retry) throw new HttpError(409, 'not_retryable', `${job.type} jobs cannot be retried`);
    res.status(202).json(await api.retry(ctx, job, who, { query: req.query as Record<string, unknown> }));
  });

  // Artifacts and result files a job stored under jobs/<jobId>/…, to its owner only.
  r.get('/:jobId/files/*path', (req, res) => sendJobFile(ctx, req, res));

  return r;
}
