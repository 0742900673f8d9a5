import os from 'node:os';
import { Piscina } from 'piscina';
import type { BulkConversionConfig } from './config';
import type { ConversionFormat } from '../../workflows/bulk-conversion/formats';
import type { PageArtifact, PageTask, PageTaskResult } from './convert-page';
import { pageThreadScript } from './page-thread-script';
import { WaitQueue } from './wait-queue';

// Untrusted pages are parsed and converted in a pool of worker threads. Each thread has a
// heap cap and each page a time budget, so a page that would block an event loop for
// minutes or exhaust a heap costs one thread, which is terminated and replaced; the
// worker's event loop (fetches, heartbeats, other jobs) never waits on page content.

export interface ConversionPoolOptions {
  /** Threads; 0 = one per core. */
  threads: number;
  heapBytes: number;
  /** Thread time one page may take, counted from when its thread starts on it. */
  pageTimeoutMs: number;
  /** Idle threads exit after this (a fresh one starts on the next page). */
  idleTimeoutMs?: number;
}

export interface PageToConvert {
  html: string;
  /** Where the page came from (after redirects); links are made absolute against it. */
  url: string;
  format: ConversionFormat;
  /** Whose page it is (the job): groups take turns at free threads. */
  group: string;
  /** A local blob file the thread stores the artifact in (BlobStore.localFile). */
  writeTo?: string;
}

export type PoolOutcome =
  | ({ kind: 'converted' } & PageArtifact)
  | { kind: 'unparseable'; message: string }
  | { kind: 'too-complex'; message: string }
  | { kind: 'too-large'; message: string };

export interface PoolStats {
  threads: number;
  pages: number;
  timedOut: number;
  outOfMemory: number;
  /** Highest V8 heap seen per thread id (committed bytes, after each page). */
  peakHeapBytes: Record<number, number>;
}

export interface ConversionPool {
  /** Converts one page in a thread; rejects with `signal.reason` when the signal aborts first. */
  convert(page: PageToConvert, signal?: AbortSignal): Promise<PoolOutcome>;
  stats(): PoolStats;
  close(): Promise<void>;
}

export function poolOptionsFrom(config: BulkConversionConfig): ConversionPoolOptions {
  return { threads: config.CONVERSION_THREADS, heapBytes: config.CONVERSION_THREAD_HEAP, pageTimeoutMs: config.CONVERSION_PAGE_TIMEOUT };
}

const YOUNG_GENERATION_MB = 4;
/** How often a queued task is checked for having started in its thread. */
const START_POLL_MS = 100;

export function createConversionPool(options: ConversionPoolOptions): ConversionPool {
  const threads = options.threads > 0 ? options.threads : os.availableParallelism();
  const budget = options.pageTimeoutMs;
  const heapMb = Math.max(16, Math.floor(options.heapBytes / 1024 / 1024));
  // One cell per slot: the thread stamps when it starts the slot's task.
  const startTimes = new BigInt64Array(new SharedArrayBuffer(8 * threads));
  const slots = new SlotGate(threads);
  const stats: PoolStats = { threads, pages: 0, timedOut: 0, outOfMemory: 0, peakHeapBytes: {} };
  let pool: Promise<Piscina<PageTask, PageTaskResult>> | undefined;

  // Threads start on first use, so processes that never convert a page hold none.
  const piscina = () =>
    (pool ??= pageThreadScript().then(
      (filename) =>
        new Piscina<PageTask, PageTaskResult>({
          filename,
          minThreads: 0,
          maxThreads: threads,
          idleTimeout: options.idleTimeoutMs ?? 60_000,
          // A small young generation keeps a busy thread near 22 MB of heap (8 MB: 29 MB, V8's default: ~75 MB), at the same CPU per page.
          resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
          workerData: { startTimes },
          execArgv: threadExecArgv(),
        }),
    ));

  async function convert({ html, url, format, group, writeTo }: PageToConvert, signal?: AbortSignal): Promise<PoolOutcome> {
    // At most one page per thread is handed to the pool, so no page queues there behind a slow one.
    if (signal?.aborted) throw signal.reason;
    const slot = await slots.acquire(group, signal);
    Atomics.store(startTimes, slot, 0n);
    const abort = new AbortController();
    const onCancel = () => abort.abort(signal?.reason);
    // Also when the signal aborted while this page waited: run() then rejects at once.
    if (signal?.aborted) onCancel();
    else signal?.addEventListener('abort', onCancel, { once: true });
    let timedOut = false;
    const check = () => {
      const started = Number(Atomics.load(startTimes, slot));
      const elapsed = started ? Date.now() - started : 0;
      if (started && elapsed >= budget) {
        timedOut = true;
        abort.abort(); // terminates the thread; the pool starts a replacement
      } else {
        timer = setTimeout(check, started ? budget - elapsed : START_POLL_MS);
      }
    };
    let timer = setTimeout(check, budget);
    try {
      const result = await (await piscina()).run({ html, url, format, slot, writeTo }, { signal: abort.signal });
      stats.pages += 1;
      recordHeap(stats.peakHeapBytes, result.thread, result.heapBytes);
      if (!result.ok) return { kind: result.failure, message: result.message };
      return { kind: 'converted', title: result.title, bytes: result.bytes, body: result.body };
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      if (timedOut) {
        stats.timedOut += 1;
        return { kind: 'too-complex', message: `the page at ${url} is too complex to convert: it needed more than ${budget / 1000} s` };
      }
      if ((e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') {
        stats.outOfMemory += 1;
        return { kind: 'too-large', message: `the page at ${url} is too large to convert: it needed more than ${heapMb} MB of memory` };
      }
      throw e;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onCancel);
      slots.release(slot);
    }
  }

  return {
    convert,
    stats: () => ({ ...stats, peakHeapBytes: { ...stats.peakHeapBytes } }),
    close: async () => {
      const closing = pool;
      pool = undefined;
      await (await closing)?.destroy();
    },
  };
}

/**
 * Node flags for conversion threads: only the profiling ones of the process. Threads run
 * plain JavaScript (no loader needed), and Node refuses V8 heap flags such as
 * --max-old-space-size in a thread's execArgv (its heap is set by resourceLimits).
 */
export function threadExecArgv(processArgs: readonly string[] = process.execArgv): string[] {
  return processArgs.filter((a) => /^--(cpu-prof|heap-prof)/.test(a));
}

/** Keeps the highest heap per thread, for the most recent threads only (replaced threads get new ids). */
function recordHeap(peaks: Record<number, number>, thread: number, bytes: number): void {
  if (bytes <= (peaks[thread] ?? 0)) return;
  peaks[thread] = bytes;
  const ids = Object.keys(peaks);
  if (ids.length > 64) delete peaks[Number(ids[0])];
}

/**
 * Hands out `size` numbered slots. Waiters line up per group (a job) and the waiting group
 * that has held threads for the least time goes next, so a job whose pages each take
 * seconds cannot make another job's quick pages wait behind them.
 */
class SlotGate {
  private readonly free: number[];
  private readonly waiting = new Map<string, WaitQueue<number>>();
  /** Thread time (ms) each recent group has held slots for. */
  private readonly usage = new Map<string, number>();
  private readonly holders: { group: string; since: number }[] = [];

  constructor(size: number) {
    this.free = Array.from({ length: size }, (_, i) => size - 1 - i);
  }

  async acquire(group: string, signal?: AbortSignal): Promise<number> {
    let slot = this.nextGroup() === undefined ? this.free.pop() : undefined;
    if (slot === undefined) {
      let queue = this.waiting.get(group);
      if (!queue) this.waiting.set(group, (queue = new WaitQueue<number>()));
      slot = await queue.wait(signal);
    }
    this.holders[slot] = { group, since: Date.now() };
    return slot;
  }

  release(slot: number): void {
    const holder = this.holders[slot];
    this.usage.delete(holder.group); // re-inserted last: the oldest entries are the ones dropped
    this.usage.set(holder.group, (this.usage.get(holder.group) ?? 0) + Date.now() - holder.since);
    if (this.usage.size > 1000) this.usage.delete(this.usage.keys().next().value!);
    const group = this.nextGroup();
    if (group === undefined) this.free.push(slot);
    else this.waiting.get(group)!.wakeOne(slot);
  }

  /** The waiting group with the least thread time; drops groups nobody waits in any more. */
  private nextGroup(): string | undefined {
    let next: string | undefined;
    let least = Infinity;
    for (const [group, queue] of this.waiting) {
      if (!queue.length) {
        this.waiting.delete(group);
        continue;
      }
      const used = this.usage.get(group) ?? 0;
      if (used < least) [next, least] = [group, used];
    }
    return next;
  }
}
