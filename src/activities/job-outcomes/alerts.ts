import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { WebhookEnvelope } from '../../shared/jobs';
import { prefixedQueue } from '../../shared/task-queues';
import type { JobFailure } from '../../temporal/job-failures';
import { webhookDelivery } from '../../workflows/webhook-delivery';
import { WEBHOOK_DELIVERY_QUEUE, WebhookDeliveryInput } from '../../workflows/webhook-delivery/contract';

// Alerts go through the webhook delivery workflow like any webhook: signed, retried on its
// schedule, visible in Temporal Web. The delivery's workflow id names the alert's cause, so a
// cause seen by several sweeps is alerted once.

export interface AlertTarget {
  client: Client;
  prefix: string;
  url: string;
}

/** Starts the delivery; false when this alert was already sent (or is being sent). */
export async function sendAlert(target: AlertTarget, workflowId: string, envelope: WebhookEnvelope, jobId?: string): Promise<boolean> {
  const input: WebhookDeliveryInput = {
    deliveryId: `msg_${workflowId}`,
    url: target.url,
    eventType: envelope.type,
    payload: { ...envelope },
    jobId,
    isAlert: true,
  };
  try {
    await target.client.workflow.start(webhookDelivery, {
      workflowId,
      taskQueue: prefixedQueue(target.prefix, WEBHOOK_DELIVERY_QUEUE),
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      staticSummary: `Alert · ${envelope.type}${jobId ? ` · ${jobId}` : ''}`,
    });
    return true;
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw e;
  }
}

export function jobFailedEvent(failure: JobFailure, links: { statusUrl: string; temporalUiUrl: string }): WebhookEnvelope<'job.failed'> {
  return {
    type: 'job.failed',
    timestamp: failure.failedAt ?? new Date().toISOString(),
    data: {
      jobId: failure.jobId,
      type: failure.type,
      owner: failure.owner,
      status: 'failed',
      failureClass: failure.class,
      error: failure.error,
      ...(failure.attempts !== undefined ? { attempts: failure.attempts } : {}),
      ...(failure.summary ? { summary: failure.summary } : {}),
      ...(failure.replayOf ? { replayOf: failure.replayOf } : {}),
      startedAt: failure.startedAt,
      failedAt: failure.failedAt,
      ...links,
    },
  };
}

export function failureRateEvent(
  type: string,
  failures: number,
  threshold: number,
  windowStart: Date,
  windowMs: number,
): WebhookEnvelope<'jobs.failure_rate'> {
  return {
    type: 'jobs.failure_rate',
    timestamp: new Date().toISOString(),
    data: {
      jobType: type,
      failures,
      threshold,
      windowStart: windowStart.toISOString(),
      windowEnd: new Date(windowStart.getTime() + windowMs).toISOString(),
    },
  };
}
