// Contract of the webhook delivery workflow. Pure module.
import { defineQuery } from '@temporalio/workflow';

/** Task queue of delivery workflows and their HTTP attempts. */
export const WEBHOOK_DELIVERY_QUEUE = 'webhooks';

export interface WebhookDeliveryInput {
  /** Sent as `webhook-id`; the same on every attempt so receivers can de-duplicate. */
  deliveryId: string;
  url: string;
  /** Event type, e.g. `job.completed`; the body (a Standard Webhooks envelope) carries it as `type` too. */
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

/** Query on a delivery workflow: every attempt so far. */
export const webhookAttemptsQuery = defineQuery<WebhookAttempt[]>('attempts');

/** Memo key under which a delivery keeps its `WebhookDeliveryStatus`, readable by describe() with no worker running. */
export const WEBHOOK_STATUS_MEMO = 'webhookStatus';

/** Summary of a delivery, as the job status view shows it. */
export interface WebhookDeliveryStatus {
  state: WebhookDeliveryState;
  attempts: number;
  lastAttempt?: WebhookAttempt;
}

/** The worker's delivery settings, fetched once per delivery so replays and config changes cannot alter a running schedule. */
export interface WebhookDeliveryPolicy {
  /** Wait before each attempt, in ms; its length is the number of attempts. */
  retryScheduleMs: number[];
  /** HTTP timeout of one attempt. */
  attemptTimeoutMs: number;
  /** Where a failed delivery raises its alert (ALERT_WEBHOOK_URL), if anywhere. */
  alertUrl?: string;
}

/** One attempt: POST `body` (the exact bytes to sign) to `url`. */
export interface WebhookAttemptInput {
  deliveryId: string;
  url: string;
  body: string;
  attempt: number;
}

/** What an attempt reports; HTTP and network failures are outcomes, not exceptions, so the workflow decides what comes next. */
export interface WebhookAttemptOutcome {
  record: WebhookAttempt;
  delivered: boolean;
  /** No later attempt can succeed: a permanent 4xx, or a target the SSRF guard refuses. */
  permanent: boolean;
  /** The receiver's Retry-After, in ms. */
  retryAfterMs?: number;
}

/** The alert delivery raised when `deliveryWorkflowId` finally fails. */
export function webhookAlertWorkflowId(deliveryWorkflowId: string): string {
  return `${deliveryWorkflowId}-alert`;
}
