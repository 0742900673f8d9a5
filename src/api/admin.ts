import { Router } from 'express';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { JOB_OWNER, JOB_TYPE } from '../shared/search-attributes';
import { prefixedQueue } from '../shared/task-queues';
import { ALL_TASK_QUEUES, STARTABLE_JOB_TYPES } from '../worker/job-registry';
import { describePollers } from '../temporal/queue-pollers';
import { isoTime } from '../temporal/timestamps';
import type { ApiContext } from './context';
import { deadLetterRoutes } from './dead-letter';

export function adminRoutes(ctx: ApiContext): Router {
  const r = Router();
  const ns = ctx.config.TEMPORAL_NAMESPACE;

  // Per task queue: the pollers Temporal reports; per job type: running and failed counts; recent failures.
  r.get('/queues', async (_req, res) => {
    const queues = await Promise.all(
      ALL_TASK_QUEUES.map((q) => describePollers(ctx.client, ns, prefixedQueue(ctx.config.TASK_QUEUE_PREFIX, q))),
    );
    const jobs = await Promise.all(
      STARTABLE_JOB_TYPES.map(async (type) => {
        const [running, failed] = await Promise.all([
          ctx.client.workflow.count(`JobType = "${type}" AND ExecutionStatus = "Running"`),
          ctx.client.workflow.count(`JobType = "${type}" AND JobOutcome = "failed" AND ExecutionStatus != "ContinuedAsNew"`),
        ]);
        return { type, running: running.count, failed: failed.count };
      }),
    );
    const recent = await ctx.client.workflowService.listWorkflowExecutions({
      namespace: ns,
      pageSize: 20,
      query: `JobOutcome = "failed" AND ExecutionStatus != "ContinuedAsNew"`,
    });
    const recentFailures = (recent.executions ?? []).map((e) => {
      const attrs = decodeTypedSearchAttributes(e.searchAttributes?.indexedFields);
      return {
        jobId: e.execution?.workflowId,
        type: attrs.get(JOB_TYPE),
        owner: attrs.get(JOB_OWNER),
        closedAt: isoTime(e.closeTime),
      };
    });
    res.json({
      queues: queues.map((q) => ({ ...q, pollerCount: q.workflowPollers.length + q.activityPollers.length })),
      jobs,
      recentFailures,
    });
  });
  r.use(deadLetterRoutes(ctx));
  return r;
}
