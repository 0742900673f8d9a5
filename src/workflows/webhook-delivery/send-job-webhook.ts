import { ParentClosePolicy, startChild, workflowInfo } from '@temporalio/workflow';
import { TASK_QUEUES, siblingQueue } from '../../shared/task-queues';
import { jobWebhookWorkflowId, WEBHOOK_DELIVERY_WORKFLOW, WebhookDeliveryInput } from './contract';

/**
 * Hands a finished job's event to the webhook delivery workflow. The child is abandoned
 * so its days of retries outlive the job; its id derives from the job id, so one event
 * is never delivered by two workflows. Call from a non-cancellable scope during cleanup.
 */
export async function sendJobWebhook(args: { jobId: string; url: string; payload: Record<string, unknown>; sequence?: number }): Promise<void> {
  const workflowId = jobWebhookWorkflowId(args.jobId, args.sequence);
  const input: WebhookDeliveryInput = {
    deliveryId: `msg_${workflowId}`,
    url: args.url,
    eventType: 'job.finished',
    payload: args.payload,
    jobId: args.jobId,
  };
  try {
    await startChild(WEBHOOK_DELIVERY_WORKFLOW, {
      workflowId,
      taskQueue: siblingQueue(workflowInfo().taskQueue, TASK_QUEUES.webhooks),
      args: [input],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (e) {
    // Already started for this event (e.g. replay after continue-as-new): nothing to do.
    if ((e as Error).name !== 'WorkflowExecutionAlreadyStartedError') throw e;
  }
}
