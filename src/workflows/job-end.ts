import { ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, upsertSearchAttributes } from '@temporalio/workflow';
import type { JobOutcome } from '../shared/jobs';
import { JOB_OUTCOME } from '../shared/search-attributes';
import { sendJobWebhook } from './webhook-delivery/send-job-webhook';

// How job workflows end: the outcome goes into the JobOutcome search attribute (lists, alerts,
// records read it), then into the job's webhook when it asked for one. Workflow code: deterministic.

export interface JobEnd extends Omit<Parameters<typeof sendJobWebhook>[0], 'url'> {
  webhookUrl?: string;
}

/** Records a job's outcome, then hands its webhook event to delivery. Call from a non-cancellable scope when cleaning up. */
export async function recordJobEnd({ webhookUrl, ...end }: JobEnd): Promise<void> {
  upsertSearchAttributes([{ key: JOB_OUTCOME, value: end.outcome }]);
  if (webhookUrl) await sendJobWebhook({ ...end, url: webhookUrl });
}

/**
 * The end of a job workflow that threw: outside cancellation, runs `cleanUp` and `record`s the job
 * as cancelled or failed, then rethrows — a cancellation as it is, anything else as a
 * non-retryable ApplicationFailure of `failureType(err)`, so the job is not retried as a whole.
 */
export async function endJobOnError(
  err: unknown,
  end: {
    cleanUp?(outcome: Extract<JobOutcome, 'cancelled' | 'failed'>): Promise<void>;
    record(outcome: Extract<JobOutcome, 'cancelled' | 'failed'>, error?: string): Promise<void>;
    failureType(err: unknown): string;
  },
): Promise<never> {
  if (isCancellation(err)) {
    await CancellationScope.nonCancellable(async () => {
      await end.cleanUp?.('cancelled');
      await end.record('cancelled');
    });
    throw err;
  }
  const message = failureMessage(err);
  await CancellationScope.nonCancellable(async () => {
    await end.cleanUp?.('failed');
    await end.record('failed', message);
  });
  throw ApplicationFailure.create({ type: end.failureType(err), message, nonRetryable: true });
}

/** Why an activity failed, in the words of its last attempt; for other errors, their own message. */
export function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  const cause = (err as { cause?: Error } | undefined)?.cause;
  return cause?.message ?? (err as Error)?.message ?? String(err);
}

/** The type of the ApplicationFailure behind `err` (thrown by an activity or by the workflow), if it has one. */
export function applicationFailureType(err: unknown): string | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type) return err.cause.type;
  if (err instanceof ApplicationFailure && err.type) return err.type;
  return undefined;
}

/** An activity failure worth asking again at the next poll: retryable, and not a cancellation. */
export function isTransientActivityFailure(e: unknown): boolean {
  const cause = e instanceof ActivityFailure ? e.cause : undefined;
  return cause instanceof ApplicationFailure && !cause.nonRetryable && !isCancellation(e);
}
