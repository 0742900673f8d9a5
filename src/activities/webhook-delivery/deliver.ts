import { ApplicationFailure } from '@temporalio/activity';
import type { WebhookAttemptInput, WebhookAttemptOutcome, WebhookDeliveryPolicy } from '../../workflows/webhook-delivery/contract';
import { BlockedTargetError } from '../../net/ssrf-guard';
import type { ActivityDeps } from '../deps';
import { postOnce } from './http-post';
import { isPermanentFailure, isSuccess, parseRetryAfter } from './response-policy';
import { signWebhook } from './sign';

const USER_AGENT = 'durable-jobs-webhooks/0.1';
const MAX_ERROR_CHARS = 300;

export function createWebhookDeliveryActivities(deps: ActivityDeps) {
  const secrets = () => {
    const list = deps.config.WEBHOOK_SECRET;
    // A worker bug, not the receiver's fault: fail the activity loudly.
    if (!list?.length) throw ApplicationFailure.create({ type: 'WebhookSecretMissing', message: 'WEBHOOK_SECRET is not set on this worker' });
    return list;
  };

  return {
    /** The schedule and limits a delivery follows, recorded once in its history. */
    async webhookDeliveryPolicy(): Promise<WebhookDeliveryPolicy> {
      secrets();
      return {
        retryScheduleMs: deps.config.WEBHOOK_RETRY_SCHEDULE,
        attemptTimeoutMs: deps.config.WEBHOOK_TIMEOUT,
        alertUrl: deps.config.ALERT_WEBHOOK_URL,
      };
    },

    /** One signed POST. HTTP and network failures are returned as outcomes; only worker-side problems throw. */
    async deliverWebhookAttempt(input: WebhookAttemptInput): Promise<WebhookAttemptOutcome> {
      const startedAt = deps.now();
      const headers = signWebhook(secrets(), { id: input.deliveryId, timestampSeconds: Math.floor(startedAt.getTime() / 1000), body: input.body });
      const log = deps.logger.child({ deliveryId: input.deliveryId, attempt: input.attempt });
      const began = performance.now();
      const record = (fields: { httpStatus?: number; error?: string }) => ({
        attempt: input.attempt,
        at: startedAt.toISOString(),
        durationMs: Math.round(performance.now() - began),
        ...fields,
      });
      try {
        const res = await postOnce(
          input.url,
          input.body,
          { ...headers, 'content-type': 'application/json', 'user-agent': USER_AGENT },
          { policy: { allowHosts: deps.config.OUTBOUND_ALLOW_HOSTS }, timeoutMs: deps.config.WEBHOOK_TIMEOUT },
        );
        const delivered = isSuccess(res.status);
        const outcome: WebhookAttemptOutcome = {
          record: record({ httpStatus: res.status }),
          delivered,
          permanent: isPermanentFailure(res.status),
          retryAfterMs: delivered ? undefined : parseRetryAfter(res.headers['retry-after'], deps.now()),
        };
        log.info(delivered ? 'webhook delivered' : 'webhook attempt failed', { httpStatus: res.status });
        return outcome;
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const blocked = err instanceof BlockedTargetError;
        const message = err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message;
        log.warn('webhook attempt failed', { error: message });
        // The record is shown to the job's owner: say a name was refused, not which internal address it resolves to.
        const shown = blocked ? message.replace(/resolves to \S+ is an?/, 'resolves to a') : message;
        return { record: record({ error: shown.slice(0, MAX_ERROR_CHARS) }), delivered: false, permanent: blocked };
      }
    },
  };
}
