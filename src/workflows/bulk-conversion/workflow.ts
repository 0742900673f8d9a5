import {
  ActivityCancellationType,
  CancellationScope,
  condition,
  patched,
  continueAsNew,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { BulkConversionActivities } from '../../activities/bulk-conversion';
import {
  BULK_CONVERSION_LIMITS,
  BULK_CONVERSION_QUEUE,
  BulkConversionCarry,
  BulkConversionInput,
  BulkConversionProgress,
  BulkConversionResult,
  chunkProgressSignal,
  indexedManifestPath,
  outcomeOf,
  progressQuery,
  retryFailedSignal,
  retryFailedUpdate,
  sourceCount,
} from './contract';
import { ChunkTask, ChunkWindow, clampConcurrency, initialCarry } from './chunk-window';
import { failureMessage, recordJobEnd } from '../job-end';

const DEFAULT_CHUNKS_PER_RUN = 500;

const STEP_RETRY = { initialInterval: '1s', maximumInterval: '1 minute', maximumAttempts: 10 } as const;

const { splitUrlManifest, finalizeBulkConversion } = proxyActivities<BulkConversionActivities>({
  startToCloseTimeout: '10 minutes',
  retry: STEP_RETRY,
});

// A small job's finalize merges one short results file: run in the workflow's own task it saves a
// workflow task, an activity dispatch and three history events per job.
const { finalizeBulkConversion: finalizeLocally, checkUrlManifest } = proxyLocalActivities<BulkConversionActivities>({
  startToCloseTimeout: '1 minute',
  retry: STEP_RETRY,
});

function finalizeFor(total: number): typeof finalizeBulkConversion {
  return total <= BULK_CONVERSION_LIMITS.maxInlineResults && patched('local-finalize-small-jobs')
    ? finalizeLocally
    : finalizeBulkConversion;
}

function chunkActivities(heartbeatTimeout: Duration, maximumAttempts: number) {
  return proxyActivities<BulkConversionActivities>({
    startToCloseTimeout: '6 hours',
    // A dead worker's chunk moves to another worker after this; it resumes from its last heartbeat.
    heartbeatTimeout,
    // Cancelling the job waits until each chunk has stopped and kept what it finished.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts },
  });
}

/**
 * Converts a list of URLs (up to 100,000) into H5P packages or Markdown: chunk activities
 * convert the URLs with a sliding window of `concurrency` URLs across the job, results go to
 * blob storage, and the run continues as new before its history grows large.
 */
export async function bulkConversion(input: BulkConversionInput): Promise<BulkConversionResult> {
  const concurrency = clampConcurrency(input.concurrency);
  const { convertChunk } = chunkActivities(input.tuning?.heartbeatTimeout ?? '20 seconds', input.tuning?.chunkMaxAttempts ?? 20);
  const chunksPerRun = input.tuning?.chunksPerRun ?? DEFAULT_CHUNKS_PER_RUN;
  const manifestPath = indexedManifestPath(input.source);

  let planned: BulkConversionCarry;
  try {
    planned = input.carried ?? (await planJob(input, concurrency));
  } catch (err) {
    // Even a job that ends before its first URL (no manifest, cancelled while splitting) records its outcome and says so.
    await CancellationScope.nonCancellable(() => recordEarlyEnd(input, err));
    throw err;
  }
  const state = planned;
  state.runs += 1;
  const window = new ChunkWindow(state, concurrency);
  let finalProgress: BulkConversionProgress | undefined;

  setHandler(progressQuery, () => finalProgress ?? window.progress());
  setHandler(retryFailedSignal, () => void window.requestRetry());
  setHandler(retryFailedUpdate, () => ({ retrying: window.requestRetry() }), {
    validator: () => {
      if (window.progress().failed === 0) throw new Error('no URL has failed so far');
    },
  });
  setHandler(chunkProgressSignal, (progress) => window.reportLive(progress));

  let chunkFailure: unknown;
  let startedThisRun = 0;
  const shouldContinueAsNew = () => startedThisRun >= chunksPerRun || workflowInfo().continueAsNewSuggested;

  function start(task: ChunkTask): void {
    startedThisRun += 1;
    const start = window.chunkStart(task.chunk);
    convertChunk({
      jobId: input.jobId,
      format: input.format,
      chunk: task.chunk,
      start,
      count: window.chunkLength(task.chunk),
      urls: 'urls' in input.source ? input.source.urls.slice(start, start + window.chunkLength(task.chunk)) : undefined,
      ...(manifestPath ? { manifestPath } : {}),
      parallelism: task.slots,
      mode: task.mode,
      taskId: task.id,
    }).then(
      (result) => window.completed(task, result),
      (err) => {
        if (isCancellation(err)) return window.release(task);
        // A chunk that keeps failing loses only its own URLs: they are recorded as failed with the reason, the rest carry on.
        if (patched('record-failed-chunks')) return window.failed(task, failureMessage(err));
        window.release(task);
        chunkFailure ??= err;
      },
    );
  }

  /** Keeps the window full until the work is done or this run should hand over to a new one. */
  async function convertAll(): Promise<'done' | 'continue-as-new'> {
    for (;;) {
      if (chunkFailure) throw chunkFailure;
      while (!shouldContinueAsNew() && window.canStart()) start(window.startNext()!);
      if (window.running.size === 0) return window.hasPendingWork() ? 'continue-as-new' : 'done';
      await condition(() => chunkFailure !== undefined || window.running.size === 0 || (!shouldContinueAsNew() && window.canStart()));
    }
  }

  async function finish(cancelled: boolean): Promise<BulkConversionResult> {
    const summary = await finalizeFor(state.total)({
      jobId: input.jobId,
      total: state.total,
      chunkSize: state.chunkSize,
      urls: 'urls' in input.source ? input.source.urls : undefined,
      ...(manifestPath ? { manifestPath } : {}),
      cancelled,
      failedChunks: state.failedChunks,
    });
    const status = outcomeOf(summary, cancelled);
    state.finishes += 1;
    finalProgress = { total: summary.total, succeeded: summary.succeeded, failed: summary.failed, inFlight: 0, pending: summary.cancelled };
    const successRate = summary.total ? summary.succeeded / summary.total : 0;
    await recordJobEnd({
      fromQueue: BULK_CONVERSION_QUEUE,
      jobId: input.jobId,
      webhookUrl: input.webhookUrl,
      sequence: state.finishes,
      outcome: status,
      data: {
        type: 'bulk-conversion',
        successRate,
        total: summary.total,
        succeeded: summary.succeeded,
        failed: summary.failed,
        ...(summary.results
          ? { results: summary.results.map(({ url, status, downloadUrl, error }) => ({ url, status, downloadUrl, error })) }
          : { resultsUrl: summary.resultsUrl }),
      },
    });
    return {
      jobId: input.jobId,
      status,
      format: input.format,
      total: summary.total,
      succeeded: summary.succeeded,
      failed: summary.failed,
      cancelled: summary.cancelled,
      successRate,
      resultsPath: summary.resultsPath,
      ...(summary.results ? { results: summary.results } : {}),
      progress: finalProgress,
    };
  }

  let outcome: BulkConversionResult | 'continue-as-new';
  try {
    for (;;) {
      if ((await convertAll()) === 'continue-as-new') {
        outcome = 'continue-as-new';
        break;
      }
      outcome = await finish(false);
      // `retryFailed` arrived while the job was finishing: run those URLs and finish again.
      if (!window.hasPendingWork()) break;
      finalProgress = undefined;
    }
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        // Chunks stop at the cancel request and keep what they finished; wait for them.
        await condition(() => window.running.size === 0);
        await finish(true);
      });
    } else {
      await CancellationScope.nonCancellable(() => recordFailure(input, state.finishes, err));
    }
    throw err;
  }
  if (outcome === 'continue-as-new') return await continueAsNew<typeof bulkConversion>({ ...input, carried: state });
  return outcome;
}

/**
 * First run: size the chunks; a stored list with a line index is checked (its chunks read their
 * own lines of it), one without is cut into one file per chunk.
 */
async function planJob(input: BulkConversionInput, concurrency: number): Promise<BulkConversionCarry> {
  const count = sourceCount(input.source);
  const earlier = initialCarry(count, concurrency, input.tuning);
  const balanced = initialCarry(count, concurrency, input.tuning, true);
  // Small jobs run the same either way (one chunk) and record no marker.
  const sameShape =
    earlier.chunkParallelism === balanced.chunkParallelism &&
    (earlier.chunkSize === balanced.chunkSize || (earlier.chunkCount === 1 && balanced.chunkCount === 1));
  const plan = sameShape || !patched('balanced-chunk-plan') ? earlier : balanced;
  const manifestPath = indexedManifestPath(input.source);
  if (manifestPath) {
    await checkUrlManifest({ jobId: input.jobId, manifestPath, count });
    return plan;
  }
  if ('manifestPath' in input.source) {
    const { total } = await splitUrlManifest({ jobId: input.jobId, manifestPath: input.source.manifestPath, chunkSize: plan.chunkSize });
    // The files are cut by the plan's chunk size; only the count comes from the split.
    return { ...plan, total, chunkCount: Math.ceil(total / plan.chunkSize) };
  }
  return plan;
}

/** The job ended before it planned its chunks: cancelled, or failed (e.g. its manifest is missing). */
function recordEarlyEnd(input: BulkConversionInput, err: unknown): Promise<void> {
  if (!isCancellation(err)) return recordFailure(input, 0, err);
  const data = { type: 'bulk-conversion', successRate: 0, total: sourceCount(input.source), succeeded: 0, failed: 0 };
  return recordJobEnd({ fromQueue: BULK_CONVERSION_QUEUE, jobId: input.jobId, webhookUrl: input.webhookUrl, outcome: 'cancelled', data });
}

/** A fatal error (a missing manifest, an unreadable list): the job is failed, and says so. */
function recordFailure(input: BulkConversionInput, finishes: number, err: unknown): Promise<void> {
  const data = { type: 'bulk-conversion', successRate: 0, error: failureMessage(err) };
  return recordJobEnd({
    fromQueue: BULK_CONVERSION_QUEUE,
    jobId: input.jobId,
    webhookUrl: input.webhookUrl,
    sequence: finishes + 1,
    outcome: 'failed',
    data,
  });
}
