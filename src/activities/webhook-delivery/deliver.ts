import { ApplicationFailure } from '@temporalio/activity';
import type { WebhookAttemptInput, WebhookAttemptOutcome, WebhookDeliveryPolicy } from '../../workflows/webhook-delivery/contract';
import { OutboundError, readCapped, sendRequest } from '../../net/http-client';
import { parseRetryAfter } from '../../net/retry-after';
import type { ActivityDeps } from '../deps';
import { isPermanentFailure, isSuccess } from './response-policy';
import { signWebhook } from './sign';

const USER_AGENT = 'durable-jobs-webhooks/0.1';
const MAX_ERROR_CHARS = 300;
/** Receivers answer with a status; a body longer than this is not waited for. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export function createWebhookDeliveryActivities(deps: ActivityDeps) {
  const secrets = () => {
    const list = deps.config.WEBHOOK_SECRET;
    // A worker bug, not the receiver's fault: fail the activity loudly.
    if (!list?.length)
      throw ApplicationFailure.create({ type: 'WebhookSecretMissing', message: 'WEBHOOK_SECRET is not set on this worker' });
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
      const headers = signWebhook(secrets(), {
        id: input.deliveryId,
        timestampSeconds: Math.floor(startedAt.getTime() / 1000),
        body: input.body,
      });
      const log = deps.logger.child({ deliveryId: input.deliveryId, attempt: input.attempt });
      const began = performance.now();
      const record = (fields: { httpStatus?: number; error?: string }) => ({
        attempt: input.attempt,
        at: startedAt.toISOString(),
        durationMs: Math.round(performance.now() - began),
        ...fields,
      });
      try {
        // One POST, redirects not followed (a 3xx comes back as a status); the timeout covers
        // connecting, sending and the whole response.
        const res = await sendRequest(input.url, {
          method: 'POST',
          body: input.body,
          headers: { ...headers, 'content-type': 'application/json', 'user-agent': USER_AGENT },
          policy: { allowHosts: deps.config.OUTBOUND_ALLOW_HOSTS },
          timeoutMs: deps.config.WEBHOOK_TIMEOUT,
          connectTimeoutMs: Math.min(deps.config.FETCH_CONNECT_TIMEOUT, deps.config.WEBHOOK_TIMEOUT),
        });
        await readCapped(res.body, MAX_RESPONSE_BYTES, res).catch((e: unknown) => {
          if (!(e instanceof OutboundError && e.kind === 'too-large')) throw e;
        });
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
        if (!(e instanceof OutboundError)) throw e;
        const blocked = e.kind === 'blocked' || e.kind === 'invalid-url';
        const message = e.kind === 'timeout' ? `no complete response within ${deps.config.WEBHOOK_TIMEOUT} ms` : e.message;
        log.warn('webhook attempt failed', { error: message });
        // The record is shown to the job's owner: say a name was refused, not which internal address it resolves to.
        const shown = blocked ? message.replace(/resolves to \S+ is an?/, 'resolves to a') : message;
        return { record: record({ error: shown.slice(0, MAX_ERROR_CHARS) }), delivered: false, permanent: blocked };
      }
    },
  };
}
