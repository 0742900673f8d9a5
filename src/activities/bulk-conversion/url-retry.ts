import { ApplicationFailure } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { isPermanentConversionError } from '../../workflows/bulk-conversion/formats';

// One URL's attempts inside a chunk activity: transient failures (5xx, 408, 429, network)
// are retried here with exponential backoff, so a flaky page never costs a whole chunk retry.

export interface UrlRetryPolicy {
  attempts: number;
  initialIntervalMs: number;
  maxIntervalMs: number;
}

export type AttemptOutcome<T> =
  { ok: true; value: T; attempts: number } | { ok: false; errorType: string; error: string; attempts: number };

export async function withUrlRetries<T>(
  attempt: () => Promise<T>,
  policy: UrlRetryPolicy,
  signal: AbortSignal,
): Promise<AttemptOutcome<T>> {
  for (let n = 1; ; n++) {
    try {
      return { ok: true, value: await attempt(), attempts: n };
    } catch (e) {
      if (signal.aborted) throw signal.reason ?? e;
      const failure = describeFailure(e);
      if (failure.permanent || n >= policy.attempts) return { ok: false, errorType: failure.type, error: failure.message, attempts: n };
      const backoff = Math.min(policy.initialIntervalMs * 2 ** (n - 1), policy.maxIntervalMs);
      // A server's Retry-After (nextRetryDelay) wins over our backoff, within the cap.
      await sleep(Math.min(failure.nextRetryDelayMs ?? backoff, policy.maxIntervalMs), signal);
    }
  }
}

interface FailureView {
  type: string;
  message: string;
  permanent: boolean;
  nextRetryDelayMs?: number;
}

function describeFailure(e: unknown): FailureView {
  if (e instanceof ApplicationFailure) {
    return {
      type: e.type ?? 'Error',
      message: e.message,
      permanent: e.nonRetryable || isPermanentConversionError(e.type ?? undefined),
      nextRetryDelayMs: e.nextRetryDelay !== undefined && e.nextRetryDelay !== null ? msToNumber(e.nextRetryDelay) : undefined,
    };
  }
  // Anything else is unexpected (a bug or an odd runtime error): retry it like a transient failure.
  const err = e as Error;
  return { type: err?.name ?? 'Error', message: err?.message ?? String(e), permanent: false };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
