import {
  ActivityFailure,
  isCancellation,
  log,
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
// Type-only: erased from the workflow bundle.
import type { WebhookActivities } from '../../activities/webhook-delivery';
import {
  WEBHOOK_STATUS_MEMO,
  webhookAlertWorkflowId,
  WebhookAttempt,
  WebhookAttemptOutcome,
  WebhookDeliveryInput,
  WebhookDeliveryPolicy,
  WebhookDeliveryResult,
  WebhookDeliveryStatus,
  webhookAttemptsQuery,
} from './contract';

/** Waits are stretched by up to this fraction so receivers coming back up are not hit by every sender at once. */
const JITTER = 0.1;
/** A receiver's Retry-After is honoured up to this long. */
const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;
/** How long past its HTTP timeout an attempt may take (DNS, signing, a busy worker) before Temporal declares it lost. */
const ATTEMPT_GRACE_MS = 10_000;

// The policy comes from the worker's config through a local activity: job workflows and
// CLI starts need not know the deployment's schedule, and the answer is recorded once in
// history, so replays and later config changes never alter a running delivery.
const { webhookDeliveryPolicy } = proxyLocalActivities<WebhookActivities>({ startToCloseTimeout: '30s' });

/**
 * Delivers one signed event to `input.url`: an attempt immediately (or after the first
 * scheduled wait), then one after each wait of the schedule until the receiver answers 2xx,
 * answers with a permanent failure, or the schedule runs out. A final failure raises an alert.
 */
export async function webhookDelivery(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  const attempts: WebhookAttempt[] = [];
  setHandler(webhookAttemptsQuery, () => attempts);

  const policy = await webhookDeliveryPolicy();
  const schedule = policy.retryScheduleMs.length ? policy.retryScheduleMs : [0];
  // Serialized once: every attempt signs and sends these exact bytes.
  const body = JSON.stringify(input.payload);

  let outcome: WebhookAttemptOutcome | undefined;
  for (const [index, scheduledWaitMs] of schedule.entries()) {
    const waitMs = waitBeforeAttempt(scheduledWaitMs, outcome?.retryAfterMs);
    if (waitMs > 0) await sleep(waitMs);
    outcome = await attemptDelivery(policy, { deliveryId: input.deliveryId, url: input.url, body, attempt: index + 1 });
    attempts.push(outcome.record);
    const finished = outcome.delivered || outcome.permanent || index === schedule.length - 1;
    const state = outcome.delivered ? 'delivered' : finished ? 'failed' : 'pending';
    publishStatus({ state, attempts: attempts.length, lastAttempt: outcome.record });
    if (finished) break;
  }

  const state = outcome?.delivered ? 'delivered' : 'failed';
  log.info('webhook delivery finished', { deliveryId: input.deliveryId, state, attempts: attempts.length });
  if (state === 'failed' && !input.isAlert && policy.alertUrl) await raiseAlert(input, policy.alertUrl, attempts);
  return { deliveryId: input.deliveryId, state, attempts };
}

/** The scheduled wait with jitter, or the receiver's Retry-After when it asks for longer. */
function waitBeforeAttempt(scheduledMs: number, retryAfterMs: number | undefined): number {
  const jittered = scheduledMs > 0 ? Math.round(scheduledMs * (1 + JITTER * Math.random())) : 0;
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
}

/** One attempt, with no Temporal-level retries: the schedule above owns retrying. A lost or crashed attempt counts as a failed one. */
async function attemptDelivery(
  policy: WebhookDeliveryPolicy,
  attempt: Parameters<WebhookActivities['deliverWebhookAttempt']>[0],
): Promise<WebhookAttemptOutcome> {
  const { deliverWebhookAttempt } = proxyActivities<WebhookActivities>({
    startToCloseTimeout: policy.attemptTimeoutMs + ATTEMPT_GRACE_MS,
    retry: { maximumAttempts: 1 },
  });
  const startedAt = Date.now();
  try {
    return await deliverWebhookAttempt(attempt);
  } catch (e) {
    if (isCancellation(e) || !(e instanceof ActivityFailure)) throw e;
    const reason = e.cause?.message ?? e.message;
    return {
      record: {
        attempt: attempt.attempt,
        at: new Date(startedAt).toISOString(),
        durationMs: Date.now() - startedAt,
        error: `attempt did not complete: ${reason}`,
      },
      delivered: false,
      permanent: false,
    };
  }
}

/** Kept in the memo so the job status view can read it from describe(), even with no worker running. */
function publishStatus(status: WebhookDeliveryStatus): void {
  upsertMemo({ [WEBHOOK_STATUS_MEMO]: status });
}

/** A signed alert delivery of its own, abandoned so it keeps retrying after this workflow ends; an alert never raises another. */
async function raiseAlert(input: WebhookDeliveryInput, alertUrl: string, attempts: WebhookAttempt[]): Promise<void> {
  const { workflowId, taskQueue } = workflowInfo();
  const alert: WebhookDeliveryInput = {
    deliveryId: `${input.deliveryId}_alert`,
    url: alertUrl,
    eventType: 'webhook.delivery_failed',
    payload: {
      type: 'webhook.delivery_failed',
      timestamp: new Date().toISOString(),
      data: {
        deliveryId: input.deliveryId,
        deliveryWorkflowId: workflowId,
        eventType: input.eventType,
        url: input.url,
        jobId: input.jobId,
        attempts: attempts.length,
        lastAttempt: attempts[attempts.length - 1],
      },
    },
    jobId: input.jobId,
    isAlert: true,
  };
  try {
    await startChild(webhookDelivery, {
      workflowId: webhookAlertWorkflowId(workflowId),
      taskQueue,
      args: [alert],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
  }
}
