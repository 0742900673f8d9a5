// Contract of the bulk conversion job, shared by the API, the workflow and its activities.
// Pure module: imported by workflow code, so no Node imports here.
import type { Duration } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ConversionFormat } from './formats';
import type { JobOutcome } from '../../shared/jobs';

/** Task queue of the job workflow and its chunk activities. */
export const BULK_CONVERSION_QUEUE = 'conversion';

export const BULK_CONVERSION_LIMITS = {
  maxUrls: 100_000,
  maxUrlLength: 2048,
  defaultConcurrency: 20,
  maxConcurrency: 200,
  /** Above this many URLs, or this many bytes of them, the API stores the list in blob storage and passes its key. */
  maxInlineUrls: 1000,
  maxInlineUrlBytes: 256 * 1024,
  /** Up to this many URLs the result (and webhook) carries every per-URL result inline. */
  maxInlineResults: 100,
} as const;

/** A stored URL list: JSON lines, one URL string a line, `count` lines. */
export interface StoredUrlManifest {
  manifestPath: string;
  count: number;
  /**
   * A line index is stored beside the manifest (`urlManifestIndexPath`): chunks read their own
   * lines of the manifest directly. Without it (jobs started before), the job first splits the
   * manifest into one file per chunk.
   */
  indexed?: true;
}

/** Where the job's URLs come from: inline for small lists, a stored manifest for large ones. */
export type UrlSource = { urls: string[] } | StoredUrlManifest;

/** Knobs for tests and benchmarks; the defaults suit production. */
export interface BulkConversionTuning {
  /** URLs per chunk activity. */
  chunkSize?: number;
  /** URLs one chunk activity converts at once (its share of `concurrency`). */
  chunkParallelism?: number;
  /** Chunk activities one workflow run starts before it continues as new. */
  chunksPerRun?: number;
  /** Heartbeat timeout of chunk activities: how soon a dead worker's chunk is retried elsewhere. */
  heartbeatTimeout?: Duration;
  /** Attempts of one chunk activity before its URLs are recorded as failed (default 20). */
  chunkMaxAttempts?: number;
}

export interface BulkConversionInput {
  jobId: string;
  owner: string;
  source: UrlSource;
  format: ConversionFormat;
  webhookUrl?: string;
  /** Most URLs in flight at once across the job. */
  concurrency?: number;
  tuning?: BulkConversionTuning;
  /** Set only by continue-as-new: where the previous run left off. */
  carried?: BulkConversionCarry;
}

/** Progress handed from one run to the next at continue-as-new. */
export interface BulkConversionCarry {
  total: number;
  chunkSize: number;
  chunkParallelism: number;
  chunkCount: number;
  /** First chunk the first pass has not started yet. */
  nextChunk: number;
  succeeded: number;
  failed: number;
  /** Failed URL count per chunk number, only chunks with failures. */
  failedByChunk: Record<string, number>;
  /** Chunks whose activity failed for good, with the reason; their URLs without a result count as failed. */
  failedChunks?: Record<string, string>;
  /** Chunks waiting to have their failed URLs re-run (after `retryFailed`). */
  retryQueue: number[];
  /** How many times the job has finished (numbers its webhooks). */
  finishes: number;
  runs: number;
}

export interface BulkConversionProgress {
  total: number;
  succeeded: number;
  failed: number;
  inFlight: number;
  pending: number;
}

/** Per-URL outcome as stored in chunk result files (`status` 'cancelled' only in a cancelled job's final results). */
export interface UrlResult {
  index: number;
  url: string;
  status: 'success' | 'failed' | 'cancelled';
  /** Relative to `jobs/<jobId>/` (success only). */
  artifactPath?: string;
  bytes?: number;
  title?: string;
  error?: string;
  errorType?: string;
  attempts?: number;
}

/** What users see per URL (webhook, results file, API). */
export interface PublicUrlResult {
  index: number;
  url: string;
  status: UrlResult['status'];
  downloadUrl?: string;
  /** The artifact's path under the job's files (success only). */
  artifactPath?: string;
  title?: string;
  error?: string;
}

export interface BulkConversionCounts {
  total: number;
  succeeded: number;
  failed: number;
  /** URLs a cancelled job never converted. */
  cancelled: number;
}

export interface BulkConversionResult extends BulkConversionCounts {
  jobId: string;
  status: JobOutcome;
  format: ConversionFormat;
  /** succeeded ÷ total, 0..1. */
  successRate: number;
  /** Every URL's result as JSON lines, relative to `jobs/<jobId>/`. */
  resultsPath: string;
  /** Per-URL results when the job is small (≤ maxInlineResults URLs). */
  results?: PublicUrlResult[];
  progress: BulkConversionProgress;
}

/** Live counts a chunk activity reports while it runs (signal `chunkProgress`). */
export interface ChunkProgress {
  taskId: number;
  succeeded: number;
  failed: number;
  inFlight: number;
}

export const progressQuery = defineQuery<BulkConversionProgress>('progress');
/** Re-run the URLs that have failed so far; the job then finishes again. (For the CLI; callers that want an answer use the update.) */
export const retryFailedSignal = defineSignal('retryFailed');
/** The same as an update: refused when nothing has failed, otherwise answers how many URLs are re-run. */
export const retryFailedUpdate = defineUpdate<{ retrying: number }>('retryFailedUrls');
/** Sent by chunk activities so `progress` moves between chunk completions. */
export const chunkProgressSignal = defineSignal<[ChunkProgress]>('chunkProgress');

// Files of a job, relative to jobs/<jobId>/.
/** A stored URL list, named by the hash of the request that sent it so concurrent requests never overwrite each other's. */
export const urlManifestPath = (requestHash: string) => `input/urls-${requestHash}.jsonl`;
/** The line index of a stored URL list: its line count and the byte offset of every few lines. */
export const urlManifestIndexPath = (manifestPath: string) => `${manifestPath.replace(/\.jsonl$/, '')}.index.json`;
export const RESULTS_PATH = 'results.jsonl';

const pad = (n: number) => String(n).padStart(6, '0');
/** The URLs of one chunk of a stored manifest, one JSON string a line. */
export const chunkInputPath = (chunk: number) => `input/chunk-${pad(chunk)}.jsonl`;
/** One chunk's per-URL results, one `UrlResult` a line, written once per pass. */
export const chunkResultsPath = (chunk: number) => `results/chunk-${pad(chunk)}.jsonl`;

export function sourceCount(source: UrlSource): number {
  return 'urls' in source ? source.urls.length : source.count;
}

/** The stored manifest whose chunks read it directly through its line index, if the source is one. */
export function indexedManifestPath(source: UrlSource): string | undefined {
  return 'manifestPath' in source && source.indexed ? source.manifestPath : undefined;
}

export function outcomeOf(counts: BulkConversionCounts, cancelled: boolean): JobOutcome {
  if (cancelled) return 'cancelled';
  if (counts.succeeded === 0) return 'failed';
  return counts.failed > 0 ? 'completed_with_errors' : 'completed';
}
