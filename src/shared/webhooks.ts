// Contract of the webhook delivery workflow. Pure module.

export const WEBHOOK_DELIVERY_WORKFLOW = 'webhookDelivery';

export interface WebhookDeliveryInput {
  /** Sent as `webhook-id`; the same on every attempt so receivers can de-duplicate. */
  deliveryId: string;
  url: string;
  /** Event name, e.g. `job.finished`; also put in the body as `type` by the caller if wanted. */
  eventType: string;
  /** JSON body, signed and sent byte for byte on every attempt. */
  payload: Record<string, unknown>;
  /** Job this delivery belongs to, for logs and the job's status view. */
  jobId?: string;
  /** Set on alert deliveries so a failed alert does not raise another alert. */
  isAlert?: boolean;
}

export interface WebhookAttempt {
  attempt: number;
  at: string;
  durationMs: number;
  httpStatus?: number;
  error?: string;
}

export type WebhookDeliveryState = 'pending' | 'delivered' | 'failed';

export interface WebhookDeliveryResult {
  deliveryId: string;
  state: Exclude<WebhookDeliveryState, 'pending'>;
  attempts: WebhookAttempt[];
}

/** The delivery workflow id for a job's n-th end-of-job event (n > 1 after retryFailed re-finishes a job). */
export function jobWebhookWorkflowId(jobId: string, sequence = 1): string {
  return sequence === 1 ? `webhook-${jobId}` : `webhook-${jobId}-${sequence}`;
}
