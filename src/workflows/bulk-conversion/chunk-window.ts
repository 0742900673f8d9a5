// Bookkeeping of a bulk job's chunks: which chunk runs next, how many URL slots each running
// chunk holds (their sum never exceeds the job's concurrency), the counts, and the chunks
// queued for a retry pass. Pure and deterministic, so the workflow stays a short story.
import { BULK_CONVERSION_LIMITS, BulkConversionCarry, BulkConversionProgress, BulkConversionTuning, ChunkProgress } from './contract';

const MAX_CHUNK_PARALLELISM = 50;
const ROUNDS_PER_CHUNK = 20;

export interface ChunkTask {
  id: number;
  chunk: number;
  mode: 'convert' | 'retry';
  /** URLs this run of the chunk converts. */
  items: number;
  /** URL slots of the job's concurrency it holds. */
  slots: number;
  /** Set by `retryFailed` while the task runs: queue its failures for a retry pass. */
  retryAfter: boolean;
  live?: ChunkProgress;
}

export interface ChunkCounts {
  succeeded: number;
  failed: number;
}

export function clampConcurrency(requested: number | undefined): number {
  const c = Math.floor(requested ?? BULK_CONVERSION_LIMITS.defaultConcurrency);
  return Math.min(Math.max(c, 1), BULK_CONVERSION_LIMITS.maxConcurrency);
}

/**
 * Chunk shape for a new job. `balanced` (new jobs): the job's concurrency is split into equal
 * lanes of chunks, and the chunk size is chosen so every wave of chunks fills every lane; with
 * ~20 rounds per chunk, 10,000 URLs at concurrency 200 are 12 chunks of 834 in 3 full waves,
 * not 10 of 1,000 whose last wave holds only half the slots. Otherwise (jobs planned before):
 * chunks of up to 50 slots and ~20 rounds, whatever the remainder.
 */
export function planChunks(
  total: number,
  concurrency: number,
  tuning: BulkConversionTuning = {},
  balanced = false,
): Pick<BulkConversionCarry, 'chunkSize' | 'chunkParallelism' | 'chunkCount'> {
  const lanes = Math.ceil(concurrency / MAX_CHUNK_PARALLELISM);
  const fitted = balanced ? Math.ceil(concurrency / lanes) : MAX_CHUNK_PARALLELISM;
  const chunkParallelism = Math.max(1, Math.min(tuning.chunkParallelism ?? fitted, concurrency));
  const roundsSize = Math.min(1000, Math.max(100, chunkParallelism * ROUNDS_PER_CHUNK));
  let chunkSize = Math.max(1, tuning.chunkSize ?? roundsSize);
  if (balanced && tuning.chunkSize === undefined && total > chunkParallelism) {
    // Chunks of at most `roundsSize` URLs, in a whole number of waves across the lanes that run at
    // once (a job that fits one chunk's lanes stays one chunk).
    const running = Math.max(1, Math.floor(concurrency / chunkParallelism));
    const waves = Math.ceil(total / (roundsSize * running));
    chunkSize = Math.max(1, Math.min(roundsSize, Math.ceil(total / (waves * running))));
  }
  return { chunkSize, chunkParallelism, chunkCount: Math.ceil(total / chunkSize) };
}

export function initialCarry(total: number, concurrency: number, tuning?: BulkConversionTuning, balanced = false): BulkConversionCarry {
  return {
    total,
    ...planChunks(total, concurrency, tuning, balanced),
    nextChunk: 0,
    succeeded: 0,
    failed: 0,
    failedByChunk: {},
    retryQueue: [],
    finishes: 0,
    runs: 0,
  };
}

export class ChunkWindow {
  readonly running = new Map<number, ChunkTask>();
  private freeSlots: number;
  private lastTaskId = 0;

  constructor(
    readonly state: BulkConversionCarry,
    readonly concurrency: number,
  ) {
    this.freeSlots = concurrency;
  }

  chunkStart(chunk: number): number {
    return chunk * this.state.chunkSize;
  }

  chunkLength(chunk: number): number {
    return Math.min(this.state.chunkSize, this.state.total - this.chunkStart(chunk));
  }

  hasPendingWork(): boolean {
    return this.state.retryQueue.length > 0 || this.state.nextChunk < this.state.chunkCount;
  }

  canStart(): boolean {
    return this.freeSlots > 0 && this.hasPendingWork();
  }

  /** Takes the next chunk to run (retries first) and reserves its URL slots. */
  startNext(): ChunkTask | undefined {
    const s = this.state;
    while (this.freeSlots > 0) {
      let chunk: number;
      let mode: ChunkTask['mode'];
      let items: number;
      if (s.retryQueue.length) {
        chunk = s.retryQueue.shift()!;
        mode = 'retry';
        items = s.failedByChunk[chunk] ?? 0;
        if (!items) continue;
      } else if (s.nextChunk < s.chunkCount) {
        chunk = s.nextChunk++;
        mode = 'convert';
        items = this.chunkLength(chunk);
      } else {
        return undefined;
      }
      const slots = Math.min(s.chunkParallelism, items, this.freeSlots);
      const task: ChunkTask = { id: ++this.lastTaskId, chunk, mode, items, slots, retryAfter: false };
      this.freeSlots -= slots;
      this.running.set(task.id, task);
      return task;
    }
    return undefined;
  }

  /** A chunk run finished: `result` holds the chunk's totals after it. */
  completed(task: ChunkTask, result: ChunkCounts): void {
    const s = this.state;
    const before =
      task.mode === 'retry' ? { succeeded: this.chunkLength(task.chunk) - task.items, failed: task.items } : { succeeded: 0, failed: 0 };
    s.succeeded += result.succeeded - before.succeeded;
    s.failed += result.failed - before.failed;
    if (result.failed > 0) s.failedByChunk[task.chunk] = result.failed;
    else delete s.failedByChunk[task.chunk];
    if (s.failedChunks) delete s.failedChunks[task.chunk];
    if (task.retryAfter && result.failed > 0 && !s.retryQueue.includes(task.chunk)) s.retryQueue.push(task.chunk);
    this.release(task);
  }

  /** A chunk run failed for good: its URLs without a result are failed, with `reason`. */
  failed(task: ChunkTask, reason: string): void {
    const length = this.chunkLength(task.chunk);
    this.completed(task, task.mode === 'retry' ? { succeeded: length - task.items, failed: task.items } : { succeeded: 0, failed: length });
    this.state.failedChunks = { ...this.state.failedChunks, [task.chunk]: reason };
  }

  /** A chunk run ended without a result (cancelled or failed). */
  release(task: ChunkTask): void {
    if (this.running.delete(task.id)) this.freeSlots += task.slots;
  }

  /** `retryFailed`: queue every chunk with failures so far; running chunks queue theirs when they end. Answers the failed URLs so far. */
  requestRetry(): number {
    const s = this.state;
    const busy = new Set([...this.running.values()].map((t) => t.chunk));
    for (const key of Object.keys(s.failedByChunk)) {
      const chunk = Number(key);
      if (!busy.has(chunk) && !s.retryQueue.includes(chunk)) s.retryQueue.push(chunk);
    }
    s.retryQueue.sort((a, b) => a - b);
    for (const task of this.running.values()) task.retryAfter = true;
    return this.progress().failed;
  }

  reportLive(progress: ChunkProgress): void {
    const task = this.running.get(progress.taskId);
    if (task) task.live = progress;
  }

  progress(): BulkConversionProgress {
    let { succeeded, failed } = this.state;
    let inFlight = 0;
    for (const task of this.running.values()) {
      if (task.mode === 'retry') failed -= task.items; // being retried: no longer counted as failed
      succeeded += task.live?.succeeded ?? 0;
      failed += task.live?.failed ?? 0;
      inFlight += task.live ? task.live.inFlight : task.slots;
    }
    const total = this.state.total;
    return { total, succeeded, failed, inFlight, pending: Math.max(0, total - succeeded - failed - inFlight) };
  }
}
