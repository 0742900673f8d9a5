import { ParentClosePolicy, startChild, workflowInfo } from '@temporalio/workflow';
import { jobEventType, JobOutcome, WebhookEnvelope } from '../../shared/jobs';
import { siblingQueue } from '../../shared/task-queues';
import { jobWebhookWorkflowId, WEBHOOK_DELIVERY_QUEUE, WebhookDeliveryInput } from './contract';
import { webhookDelivery } from './workflow';

/**
 * Hands a finished job's event to the webhook delivery workflow, in the Standard Webhooks
 * envelope `{type, timestamp, data}` with type `job.completed`, `job.failed` or `job.cancelled`. The child is abandoned
 * so its days of retries outlive the job; its id derives from the job id, so one event
 * is never delivered by two workflows. Call from a non-cancellable scope during cleanup.
 */
export async function sendJobWebhook(args: {
  jobId: string;
  url: string;
  outcome: JobOutcome;
  /** The event's `data`: the job's id, type and outcome fields. */
  data: Record<string, unknown>;
  sequence?: number;
  /** Base name of the calling workflow's task queue, to find the webhooks queue beside it. */
  fromQueue: string;
}): Promise<void> {
  const workflowId = jobWebhookWorkflowId(args.jobId, args.sequence);
  const type = jobEventType(args.outcome);
  // Workflow time: deterministic on replay.
  const payload: WebhookEnvelope = {
    type,
    timestamp: new Date().toISOString(),
    data: { jobId: args.jobId, status: args.outcome, ...args.data },
  };
  const input: WebhookDeliveryInput = {
    deliveryId: `msg_${workflowId}`,
    url: args.url,
    eventType: type,
    payload: { ...payload },
    jobId: args.jobId,
  };
  try {
    await startChild(webhookDelivery, {
      workflowId,
      taskQueue: siblingQueue(workflowInfo().taskQueue, args.fromQueue, WEBHOOK_DELIVERY_QUEUE),
      args: [input],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (e) {
    // Already started for this event (e.g. replay after continue-as-new): nothing to do.
    if ((e as Error).name !== 'WorkflowExecutionAlreadyStartedError') throw e;
  }
}
