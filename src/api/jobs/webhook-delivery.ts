import { WorkflowExecutionDescription, WorkflowNotFoundError } from '@temporalio/client';
import {
  jobWebhookWorkflowId,
  WEBHOOK_STATUS_MEMO,
  WebhookAttempt,
  WebhookDeliveryState,
  WebhookDeliveryStatus,
} from '../../workflows/webhook-delivery/contract';
import { z } from 'zod';
import type { ApiContext } from '../context';
import { schemaOf } from '../response-schemas';
import type { JobTypeApi } from './job-types';
import type { PlatformConfig } from '../../config/env';

export interface JobWebhookView {
  /** `none` until the job has handed an event to webhook delivery (still running, or no webhook asked for). */
  state: WebhookDeliveryState | 'none';
  attempts: number;
  lastAttempt?: WebhookAttempt;
}

const responses = {
  everyJobFields: z.object({
    webhook: schemaOf<JobWebhookView>()(
      z.object({
        state: z.enum(['none', 'pending', 'delivered', 'failed']).describe('none until the job has handed an event to webhook delivery'),
        attempts: z.number().int().min(0),
        lastAttempt: schemaOf<WebhookAttempt>()(
          z.object({
            attempt: z.number().int().min(1),
            at: z.iso.datetime(),
            durationMs: z.number().min(0),
            httpStatus: z.number().int().optional(),
            error: z.string().optional(),
          }),
        ).optional(),
      }),
    ),
  }),
};

/**
 * The delivery state of a job's latest end-of-job webhook. Read from the delivery workflow's
 * description and memo (no query), so it answers even while no webhooks worker is running.
 * One visibility lookup finds the latest event's delivery (retries re-finish a job as event
 * 2, 3, …); the first delivery is described directly in case visibility has not caught up.
 */
export async function webhookState(ctx: ApiContext, jobId: string): Promise<JobWebhookView> {
  const first = jobWebhookWorkflowId(jobId, 1);
  const quoted = first.replace(/["\\]/g, '');
  let latestId = first;
  let latestSequence = 1;
  for await (const execution of ctx.client.workflow.list({ query: `WorkflowId STARTS_WITH "${quoted}-"` })) {
    const sequence = Number(execution.workflowId.slice(quoted.length + 1));
    if (Number.isInteger(sequence) && sequence > latestSequence) [latestId, latestSequence] = [execution.workflowId, sequence];
  }
  const latest = await describeIfExists(ctx, latestId);
  if (!latest) return { state: 'none', attempts: 0 };
  const status = latest.memo?.[WEBHOOK_STATUS_MEMO] as WebhookDeliveryStatus | undefined;
  const attempts = status?.attempts ?? 0;
  const lastAttempt = status?.lastAttempt;
  switch (latest.status.name) {
    case 'RUNNING':
      return { state: 'pending', attempts, lastAttempt };
    case 'COMPLETED':
      return { state: status?.state === 'delivered' ? 'delivered' : 'failed', attempts, lastAttempt };
    default:
      // Terminated, cancelled or timed out: nothing more will be sent.
      return { state: 'failed', attempts, lastAttempt };
  }
}

async function describeIfExists(ctx: ApiContext, workflowId: string): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await ctx.client.workflow.getHandle(workflowId).describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
}

/** Every job's status view shows the state of its end-of-job webhook. */
export const webhookDeliveryApi: JobTypeApi<PlatformConfig, typeof responses> = {
  responses,
  async fieldsForEveryJob(ctx, job) {
    return { webhook: await webhookState(ctx, job.jobId) };
  },
};
