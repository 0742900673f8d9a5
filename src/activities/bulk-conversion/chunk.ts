import { setMaxListeners } from 'node:events';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { chunkInputPath, chunkProgressSignal, chunkResultsPath, ChunkProgress, UrlResult } from '../../workflows/bulk-conversion/contract';
import type { ConversionFormat } from '../../workflows/bulk-conversion/formats';
import { jobFileKey } from '../../shared/urls';
import type { ActivityDeps } from '../deps';
import type { BulkConversionConfig } from './config';
import { createConversionPool, poolOptionsFrom } from './conversion-pool';
import { createUrlConverter, ConvertUrlInput, ConvertUrlOutput } from './convert-url';
import { readAllJsonLines, writeJsonLines } from '../../storage/json-lines';
import { openIndexedManifest } from './manifest-index';
import { slidingWindow } from './sliding-window';
import { warmUpPagePath } from './page-path-warm-up';
import { UrlRetryPolicy, withUrlRetries } from './url-retry';

export interface ConvertChunkInput {
  jobId: string;
  format: ConversionFormat;
  chunk: number;
  /** Index of the chunk's first URL in the job's list. */
  start: number;
  count: number;
  /** The chunk's URLs when the job's list is inline; otherwise they are read from the manifest or the chunk's input file. */
  urls?: string[];
  /** The job's indexed URL manifest, whose lines `start` to `start + count` are this chunk's URLs. */
  manifestPath?: string;
  /** URLs converted at once by this activity (its share of the job's concurrency). */
  parallelism: number;
  /** `convert`: first pass over the chunk. `retry`: re-run only the URLs its results file lists as failed. */
  mode: 'convert' | 'retry';
  /** Names this run of the chunk in progress signals. */
  taskId: number;
}

export interface ConvertChunkResult {
  chunk: number;
  /** Totals over the whole chunk after this pass. */
  succeeded: number;
  failed: number;
  /** URLs converted by this pass. */
  processed: number;
}

/** Heartbeat checkpoint: the results finished so far, compact so 1,000 of them stay far below payload limits. */
type Finished =
  | [index: number, ok: 1, artifactPath: string, bytes: number, title: string, attempts: number]
  | [index: number, ok: 0, errorType: string, error: string, attempts: number];
interface ChunkCheckpoint {
  taskId: number;
  finished: Finished[];
}

/** When a chunk sends its first live progress report. */
const FIRST_PROGRESS_MS = 2_000;

export interface ChunkActivityOptions {
  /** The per-URL converter; tests may inject one. */
  convertUrl?: (input: ConvertUrlInput) => Promise<ConvertUrlOutput>;
  heartbeatEveryMs?: number;
  progressEveryMs?: number;
}

export function createChunkActivities(deps: ActivityDeps<BulkConversionConfig>, options: ChunkActivityOptions = {}) {
  const pool = createConversionPool(poolOptionsFrom(deps.config));
  const convertUrl = options.convertUrl ?? createUrlConverter(deps, pool);
  // A worker serving conversions holds its threads from the start: a job's first pages do not
  // wait for threads to load, nor compete with their loading for the CPU.
  if (!options.convertUrl) {
    pool.warm();
    const pages = deps.config.CONVERSION_WARM_UP_PAGES;
    if (pages > 0)
      deps.beforePolling?.(async () => {
        const warmUp = await warmUpPagePath(deps, pool, pages);
        deps.logger.info('conversion path warmed up', { ...warmUp });
      });
  }
  deps.onWorkersStopped?.(() => pool.close());
  const heartbeatEveryMs = options.heartbeatEveryMs ?? 1000;
  // Chunk completions move `progress` already; live reports only matter for long chunks, and each
  // one costs a workflow task and two history events, so they are rare: one early, so a watcher
  // sees a job move within seconds, then one per interval.
  const progressEveryMs = options.progressEveryMs ?? 10_000;
  const firstProgressMs = Math.min(FIRST_PROGRESS_MS, progressEveryMs);
  const retryPolicy: UrlRetryPolicy = {
    attempts: deps.config.CONVERSION_URL_ATTEMPTS,
    initialIntervalMs: deps.config.CONVERSION_RETRY_INTERVAL,
    maxIntervalMs: 60_000,
  };

  return {
    /**
     * Converts one chunk of a bulk job's URLs with its own sliding window, heartbeating the
     * results so far; a retried attempt (worker crash) skips the URLs already done. Writes the
     * chunk's results file once, at the end, and returns only counts.
     */
    async convertChunk(input: ConvertChunkInput): Promise<ConvertChunkResult> {
      const ctx = Context.current();
      const resultsKey = jobFileKey(input.jobId, chunkResultsPath(input.chunk));
      const previous = await readAllJsonLines<UrlResult>(deps.store, resultsKey);

      let base: UrlResult[];
      if (input.mode === 'convert') {
        // An earlier attempt stored the results but died before reporting: the work is done.
        if (previous && previous.length === input.count) return summarize(input.chunk, previous, 0);
        const urls = input.urls ?? (await readChunkUrls(deps, input));
        base = urls.map((url, i) => ({ index: input.start + i, url, status: 'failed', error: 'not converted yet' }));
      } else {
        if (!previous)
          throw ApplicationFailure.create({
            type: 'ChunkResultsMissing',
            message: `no results for chunk ${input.chunk} to retry`,
            nonRetryable: true,
          });
        base = previous;
      }
      const todo = input.mode === 'convert' ? base : base.filter((r) => r.status !== 'success');

      const finished = new Map<number, UrlResult>();
      // The heartbeat checkpoint grows by one compact row per finished URL; rows are built once, not per heartbeat.
      const rows: Finished[] = [];
      let succeeded = 0;
      const finish = (result: UrlResult, row: Finished) => {
        finished.set(result.index, result);
        rows.push(row);
        if (result.status === 'success') succeeded += 1;
      };
      const checkpoint = ctx.info.heartbeatDetails as ChunkCheckpoint | undefined;
      const byIndex = new Map(base.map((r) => [r.index, r]));
      if (checkpoint?.taskId === input.taskId) {
        for (const f of checkpoint.finished) {
          const item = byIndex.get(f[0]);
          if (item && !finished.has(item.index)) finish(fromCheckpoint(item.url, f), f);
        }
      }

      let inFlight = 0;
      /** Artifacts written whose folder sync is still pending. */
      const syncing = new Set<Promise<void>>();
      const live = (): ChunkProgress => ({ taskId: input.taskId, succeeded, failed: finished.size - succeeded, inFlight });
      const heartbeat = () => ctx.heartbeat({ taskId: input.taskId, finished: rows } satisfies ChunkCheckpoint);
      const reporter = progressReporter(ctx, live);
      heartbeat();
      const heartbeats = setInterval(heartbeat, heartbeatEveryMs);
      const firstReport = setTimeout(reporter, firstProgressMs);
      const reports = setInterval(reporter, progressEveryMs);

      const signal = ctx.cancellationSignal;
      // One listener per lane of the window; each lane's URLs listen on the lane's own signal.
      setMaxListeners(Math.max(10, input.parallelism + 5), signal);
      try {
        await slidingWindow(
          todo.filter((r) => !finished.has(r.index)),
          input.parallelism,
          async (item, laneSignal, freeSlot) => {
            inFlight += 1;
            try {
              const outcome = await withUrlRetries(
                () =>
                  convertUrl({
                    jobId: input.jobId,
                    index: item.index,
                    url: item.url,
                    format: input.format,
                    signal: laneSignal,
                    // The fetched page waits for its conversion without holding a fetch slot.
                    onFetched: freeSlot,
                  }),
                retryPolicy,
                laneSignal,
              );
              const result: UrlResult = outcome.ok
                ? {
                    index: item.index,
                    url: item.url,
                    status: 'success',
                    artifactPath: outcome.value.artifactPath,
                    bytes: outcome.value.bytes,
                    title: outcome.value.title,
                    attempts: outcome.attempts,
                  }
                : {
                    index: item.index,
                    url: item.url,
                    status: 'failed',
                    errorType: outcome.errorType,
                    error: outcome.error,
                    attempts: outcome.attempts,
                  };
              const durable = outcome.ok ? outcome.value.durable : undefined;
              if (!durable) return finish(result, toCheckpoint(result));
              // The lane moves on; the result counts (and reaches heartbeats) once its artifact is durable.
              const settled: Promise<void> = durable.then(
                () => {
                  syncing.delete(settled);
                  finish(result, toCheckpoint(result));
                },
                (e: unknown) => {
                  syncing.delete(settled);
                  const failed: UrlResult = {
                    index: item.index,
                    url: item.url,
                    status: 'failed',
                    errorType: 'StorageError',
                    error: String(e),
                    attempts: result.attempts,
                  };
                  finish(failed, toCheckpoint(failed));
                },
              );
              syncing.add(settled);
            } finally {
              inFlight -= 1;
            }
          },
          signal,
        );
        await Promise.all(syncing);
      } finally {
        clearInterval(heartbeats);
        clearTimeout(firstReport);
        clearInterval(reports);
      }

      const merged = base.map((r) => finished.get(r.index) ?? r);
      if (signal.aborted) {
        // The job was cancelled: keep what finished so the final results show it. On worker
        // shutdown or a lost heartbeat nothing is written; the next attempt resumes instead.
        if (ctx.cancellationDetails?.cancelRequested) {
          const kept = input.mode === 'convert' ? merged.filter((r) => finished.has(r.index)) : merged;
          await writeJsonLines(deps.store, resultsKey, kept);
        }
        throw signal.reason;
      }
      await writeJsonLines(deps.store, resultsKey, merged);
      const summary = summarize(input.chunk, merged, todo.length);
      const { threads, peakHeapBytes } = pool.stats();
      deps.logger.info('chunk converted', {
        jobId: input.jobId,
        ...summary,
        conversionPool: { threads, peakHeapMb: Object.values(peakHeapBytes).map((b) => Math.round(b / 1024 / 1024)) },
      });
      return summary;
    },
  };
}

async function readChunkUrls(deps: ActivityDeps, input: ConvertChunkInput): Promise<string[]> {
  const urls = input.manifestPath
    ? await (await openIndexedManifest(deps.store, input.jobId, input.manifestPath))?.read(input.start, input.count)
    : await readAllJsonLines<string>(deps.store, jobFileKey(input.jobId, chunkInputPath(input.chunk)));
  if (!urls || urls.length !== input.count) {
    throw ApplicationFailure.create({
      type: 'ChunkInputMissing',
      message: `chunk ${input.chunk} should list ${input.count} URLs, found ${urls ? urls.length : 'no file'}`,
      nonRetryable: true,
    });
  }
  return urls;
}

function summarize(chunk: number, results: UrlResult[], processed: number): ConvertChunkResult {
  const succeeded = results.filter((r) => r.status === 'success').length;
  return { chunk, succeeded, failed: results.length - succeeded, processed };
}

const clip = (s: string | undefined, n: number) => (s && s.length > n ? `${s.slice(0, n - 1)}…` : (s ?? ''));

function toCheckpoint(r: UrlResult): Finished {
  return r.status === 'success'
    ? [r.index, 1, r.artifactPath ?? '', r.bytes ?? 0, clip(r.title, 300), r.attempts ?? 1]
    : [r.index, 0, r.errorType ?? 'Error', clip(r.error, 500), r.attempts ?? 1];
}

function fromCheckpoint(url: string, f: Finished): UrlResult {
  return f[1] === 1
    ? { index: f[0], url, status: 'success', artifactPath: f[2], bytes: f[3], title: f[4], attempts: f[5] }
    : { index: f[0], url, status: 'failed', errorType: f[2], error: f[3], attempts: f[4] };
}

/**
 * Signals the job's workflow with this chunk's live counts, at most one signal in flight and
 * only when something changed. Best effort: a lost report only makes `progress` lag.
 */
function progressReporter(ctx: Context, live: () => ChunkProgress): () => void {
  let sending = false;
  let lastSent = '';
  return () => {
    if (sending) return;
    const progress = live();
    const key = JSON.stringify(progress);
    if (key === lastSent) return;
    const execution = ctx.info.workflowExecution;
    if (!execution) return;
    let client;
    try {
      client = ctx.client;
    } catch {
      return; // no client (e.g. MockActivityEnvironment)
    }
    sending = true;
    client.workflow
      .getHandle(execution.workflowId, execution.runId)
      .signal(chunkProgressSignal, progress)
      .then(() => (lastSent = key))
      .catch(() => undefined)
      .finally(() => (sending = false));
  };
}
