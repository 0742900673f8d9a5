import { ParentClosePolicy, startChild, workflowInfo } from '@temporalio/workflow';
import { siblingQueue } from '../../shared/task-queues';
import { jobWebhookWorkflowId, WEBHOOK_DELIVERY_QUEUE, WebhookDeliveryInput } from './contract';
import { webhookDelivery } from './workflow';

/**
 * Hands a finished job's event to the webhook delivery workflow. The child is abandoned
 * so its days of retries outlive the job; its id derives from the job id, so one event
 * is never delivered by two workflows. Call from a non-cancellable scope during cleanup.
 */
export async function sendJobWebhook(args: {
  jobId: string;
  url: string;
  payload: Record<string, unknown>;
  sequence?: number;
  /** Base name of the calling workflow's task queue, to find the webhooks queue beside it. */
  fromQueue: string;
}): Promise<void> {
  const workflowId = jobWebhookWorkflowId(args.jobId, args.sequence);
  const input: WebhookDeliveryInput = {
    deliveryId: `msg_${workflowId}`,
    url: args.url,
    eventType: 'job.finished',
    payload: args.payload,
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
