import { ApplicationFailure } from '@temporalio/common';
import { OutboundError } from '../../net/http-client';
import { ProviderHttpError } from '../../net/provider-errors';

// How provider errors become Temporal failures: content-policy refusals and other 4xx are
// permanent and carry the provider's message; 429 and 5xx retry, after Retry-After when given.

export const VIDEO_FAILURE_TYPES = {
  rateLimited: 'ProviderRateLimited',
  unavailable: 'ProviderUnavailable',
  network: 'ProviderNetworkError',
  contentPolicy: 'ProviderContentPolicy',
  auth: 'ProviderAuthFailed',
  rejected: 'ProviderRejected',
  blocked: 'ProviderTargetBlocked',
} as const;

const POLICY_CODES = /moderation|content_policy|safety|policy_violation|rai_/i;
const POLICY_WORDS = /moderation|content policy|usage guidelines|safety/i;

export function isContentPolicyRefusal(err: ProviderHttpError): boolean {
  return err.status === 400 && ((!!err.code && POLICY_CODES.test(err.code)) || POLICY_WORDS.test(err.message));
}

export function toProviderFailure(err: unknown, provider: string, action: string): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ProviderHttpError) {
    const what = `${provider} ${action}: HTTP ${err.status}${err.code ? ` ${err.code}` : ''}: ${err.message}`;
    const details = [{ status: err.status, code: err.code, providerMessage: err.message }];
    if (err.status === 429) {
      return ApplicationFailure.create({ type: VIDEO_FAILURE_TYPES.rateLimited, message: what, nextRetryDelay: err.retryAfterMs, details });
    }
    if (err.status >= 500 || err.status === 408) {
      return ApplicationFailure.create({ type: VIDEO_FAILURE_TYPES.unavailable, message: what, nextRetryDelay: err.retryAfterMs, details });
    }
    const type = isContentPolicyRefusal(err)
      ? VIDEO_FAILURE_TYPES.contentPolicy
      : err.status === 401 || err.status === 403
        ? VIDEO_FAILURE_TYPES.auth
        : VIDEO_FAILURE_TYPES.rejected;
    return ApplicationFailure.create({ type, message: what, nonRetryable: true, details });
  }
  if (err instanceof OutboundError) {
    if (err.kind === 'blocked' || err.kind === 'invalid-url') {
      return ApplicationFailure.create({
        type: VIDEO_FAILURE_TYPES.blocked,
        message: `${provider} ${action}: ${err.message}`,
        nonRetryable: true,
      });
    }
    // Timeouts, broken connections, redirect trouble and oversized answers: worth another attempt.
    return ApplicationFailure.create({ type: VIDEO_FAILURE_TYPES.network, message: `${provider} ${action}: ${err.message}` });
  }
  return err;
}

/** Runs a provider call and rethrows its error as a Temporal failure. */
export async function providerCall<T>(provider: string, action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toProviderFailure(e, provider, action);
  }
}
