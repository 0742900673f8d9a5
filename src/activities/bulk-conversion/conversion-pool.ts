import os from 'node:os';
import { MessageChannel, MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { BulkConversionConfig } from './config';
import type { ConversionFormat } from '../../workflows/bulk-conversion/formats';
import { AbortWatch } from '../../shared/abort-watch';
import type { PageArtifact } from './convert-page';
import { FairQueue } from './fair-queue';
import { CANCEL_CELLS, PageMessage, PageThreadData, ResultMessage } from './page-thread-protocol';
import { pageThreadScript } from './page-thread-script';

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
  /**
   * Idle threads exit after this and a fresh one starts on the next page; in a warm pool (see
   * `warm()`) only threads that converted pages exit, and fresh ones replace them at once.
   */
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
  /** Called when the page leaves the waiting line for a thread. */
  onSent?: () => void;
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
  /** Ids of the threads running now. */
  liveThreads: number[];
}

export interface ConversionPool {
  /** Converts one page in a thread; rejects with `signal.reason` when the signal aborts first. */
  convert(page: PageToConvert, signal?: AbortSignal): Promise<PoolOutcome>;
  /**
   * True while more pages wait for a place in a thread than the threads can take soon, counting
   * `arriving` pages the caller is about to hand over: callers hold back new work.
   */
  backlogged(arriving?: number): boolean;
  /** Starts every thread now and keeps them running from then on (otherwise threads start on the first pages and exit when idle). */
  warm(): void;
  stats(): PoolStats;
  /** Stops every thread; pages not converted yet reject. */
  close(): Promise<void>;
}

export function poolOptionsFrom(config: BulkConversionConfig): ConversionPoolOptions {
  return { threads: config.CONVERSION_THREADS, heapBytes: config.CONVERSION_THREAD_HEAP, pageTimeoutMs: config.CONVERSION_PAGE_TIMEOUT };
}

const YOUNG_GENERATION_MB = 4;
/** Pages handed to one thread at a time: the next one waits in the thread, so no round trip through this event loop lies between two pages. */
export const PAGES_PER_THREAD = 2;
/** Pages that may wait per thread before the pool counts as backlogged (each costs its caller ~25 KB besides its bytes). */
export const WAITING_PAGES_PER_THREAD = 64;
/** A page whose threads died under it this often (not by its own timeout or heap) fails instead of going round again. */
const MAX_REQUEUES = 3;

type PageState = 'queued' | 'sent' | 'done';

interface PageJob {
  seq: number;
  page: PageToConvert;
  signal: AbortSignal | undefined;
  state: PageState;
  thread: PageThread | undefined;
  requeues: number;
  resolve(outcome: PoolOutcome): void;
  reject(error: unknown): void;
}

interface PageThread {
  worker: Worker;
  port: MessagePort;
  cell: number;
  /** Pages sent to the thread and not answered yet, in the order sent (the first is the one it converts). */
  pages: PageJob[];
  idleSince: number;
  /** False once the pool has given up on the thread (terminated, or it died). */
  alive: boolean;
  /** Its page has run long: it gets no new pages until it answers (see steal). */
  stuck: boolean;
  /** It has converted a page since it started (its heap may have grown). */
  used: boolean;
  error?: Error;
}

export function createConversionPool(options: ConversionPoolOptions): ConversionPool {
  const maxThreads = options.threads > 0 ? options.threads : os.availableParallelism();
  const budget = options.pageTimeoutMs;
  const idleTimeout = options.idleTimeoutMs ?? 60_000;
  const heapMb = Math.max(16, Math.floor(options.heapBytes / 1024 / 1024));
  // Twice the cells of the threads: a replacement thread starts while the one it replaces is still exiting.
  const cells = 2 * maxThreads;
  const shared = {
    running: new Int32Array(new SharedArrayBuffer(4 * cells)),
    startedAt: new BigInt64Array(new SharedArrayBuffer(8 * cells)),
    cancelled: new Int32Array(new SharedArrayBuffer(4 * CANCEL_CELLS)),
  };
  const freeCells = Array.from({ length: cells }, (_, i) => cells - 1 - i);
  const threads: PageThread[] = [];
  const queue = new FairQueue<PageJob>((job) => job.state === 'queued');
  const watch = new AbortWatch<PageJob>((job, reason) => cancel(job, reason));
  const stats: Omit<PoolStats, 'liveThreads'> = { threads: maxThreads, pages: 0, timedOut: 0, outOfMemory: 0, peakHeapBytes: {} };
  let seq = 0;
  const nextSeq = () => (seq = seq >= 0x7fffffff ? 1 : seq + 1);
  // A page that runs this long holds up the pages sent behind it: they move to other threads.
  const stealAfterMs = Math.min(1000, budget / 2);
  let script: string | undefined;
  let building: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let keepWarm = false;
  // One timer for every thread: page budgets and idle exits are checked on its ticks.
  const tickMs = Math.min(500, Math.max(20, Math.min(budget, idleTimeout) / 10));

  const tooComplex = (url: string) => `the page at ${url} is too complex to convert: it needed more than ${budget / 1000} s`;
  const tooLarge = (url: string) => `the page at ${url} is too large to convert: it needed more than ${heapMb} MB of memory`;

  /** Builds the thread script (once per process); true when it is ready. Threads start on first use (or warm()), so a process that never converts a page holds none. */
  function ensureScript(): boolean {
    if (script) return true;
    building ??= pageThreadScript().then(
      (file) => {
        script = file;
        pump();
      },
      (e: unknown) => {
        building = undefined;
        // Nothing can convert without the script: the waiting pages fail with the build error.
        for (let job = queue.shift(); job; job = queue.shift()) settle(job, e, false);
      },
    );
    return false;
  }

  function spawn(): PageThread | undefined {
    if (!ensureScript() || threads.length >= maxThreads || freeCells.length === 0) return undefined;
    const cell = freeCells.pop()!;
    Atomics.store(shared.startedAt, cell, 0n);
    Atomics.store(shared.running, cell, 0);
    const { port1, port2 } = new MessageChannel();
    const workerData: PageThreadData = { port: port2, cell, ...shared };
    const worker = new Worker(script!, {
      workerData,
      transferList: [port2],
      // A small young generation keeps a busy thread near 22 MB of heap (8 MB: 29 MB, V8's default: ~75 MB), at the same CPU per page.
      resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
      execArgv: threadExecArgv(),
    });
    const thread: PageThread = { worker, port: port1, cell, pages: [], idleSince: Date.now(), alive: true, stuck: false, used: false };
    port1.on('message', (m: ResultMessage) => {
      if (thread.alive) onResult(thread, m, true);
    });
    // Idle threads keep no process alive; a thread with pages holds its port's ref (see send/onResult).
    port1.unref();
    worker.unref();
    worker.on('error', (e) => (thread.error = e));
    worker.on('exit', () => onExit(thread));
    threads.push(thread);
    timer ??= setInterval(tick, tickMs).unref();
    return thread;
  }

  /** The thread with the fewest pages that has room; a new thread rather than a second page on a busy one. */
  function placeFor(): PageThread | undefined {
    let best: PageThread | undefined;
    for (const t of threads) if (!t.stuck && t.pages.length < (best ? best.pages.length : PAGES_PER_THREAD)) best = t;
    if (!best || best.pages.length > 0) return spawn() ?? best;
    return best;
  }

  /** Hands waiting pages to threads with room (a warm pool first replaces the threads it lost). */
  function pump(): void {
    if (keepWarm) while (threads.length < maxThreads && spawn());
    while (queue.length > 0) {
      const thread = placeFor();
      if (!thread) return;
      const job = queue.shift();
      if (!job) return;
      send(thread, job);
    }
  }

  function send(thread: PageThread, job: PageJob): void {
    job.state = 'sent';
    job.thread = thread;
    if (thread.pages.push(job) === 1) thread.port.ref();
    const { html, url, format, writeTo, onSent } = job.page;
    thread.port.postMessage([job.seq, html, url, format, writeTo] satisfies PageMessage);
    onSent?.();
  }

  function onResult(thread: PageThread, message: ResultMessage, thenPump: boolean): void {
    const at = thread.pages.findIndex((j) => j.seq === message[0]);
    if (at < 0) return;
    const [job] = thread.pages.splice(at, 1);
    thread.stuck = false;
    if (thread.pages.length === 0) {
      thread.idleSince = Date.now();
      thread.port.unref();
    }
    switch (message[1]) {
      case 'converted': {
        const [, , title, bytes, body, heapBytes, threadMs] = message;
        account(thread, job, heapBytes, threadMs);
        settle(job, { kind: 'converted', title, bytes, ...(body ? { body } : {}) });
        break;
      }
      case 'unparseable':
      case 'too-complex': {
        const [, kind, text, heapBytes, threadMs] = message;
        account(thread, job, heapBytes, threadMs);
        settle(job, { kind, message: text });
        break;
      }
      case 'error':
        settle(job, new Error(`conversion thread failed on ${job.page.url}: ${message[2]}`), false);
        break;
      case 'skipped': // already rejected when it was cancelled
        break;
    }
    if (thenPump) pump();
  }

  function account(thread: PageThread, job: PageJob, heapBytes: number, threadMs: number): void {
    stats.pages += 1;
    thread.used = true;
    recordHeap(stats.peakHeapBytes, thread.worker.threadId, heapBytes);
    queue.charge(job.page.group, threadMs);
  }

  function settle(job: PageJob, result: PoolOutcome | unknown, ok = true): void {
    if (job.state === 'done') return;
    job.state = 'done';
    job.thread = undefined;
    if (job.signal) watch.delete(job.signal, job);
    if (ok) job.resolve(result as PoolOutcome);
    else job.reject(result);
  }

  /**
   * Gives up on a thread: answers it already sent are taken, the `guilty` page settles via
   * `onGuilty`, the other pages it holds go back to the queue, first in line. With
   * `countRequeue` (the thread died unexplained) a page sent back too often settles via `onGuilty` too.
   */
  function retire(thread: PageThread, guilty?: number, onGuilty?: (job: PageJob) => void, countRequeue = false): void {
    if (!thread.alive) return;
    thread.alive = false;
    threads.splice(threads.indexOf(thread), 1);
    for (let m = receiveMessageOnPort(thread.port); m; m = receiveMessageOnPort(thread.port))
      onResult(thread, m.message as ResultMessage, false);
    thread.port.close();
    void thread.worker.terminate();
    const pages = thread.pages.splice(0);
    for (let i = pages.length - 1; i >= 0; i--) {
      const job = pages[i];
      if (job.state !== 'sent') continue;
      if (onGuilty && (job.seq === guilty || (countRequeue && ++job.requeues > MAX_REQUEUES))) onGuilty(job);
      else requeue(job);
    }
  }

  function requeue(job: PageJob): void {
    job.thread = undefined;
    job.state = 'queued';
    queue.unshift(job.page.group, job);
  }

  /** A thread that died by itself: out of heap (its running page is too large) or a crash. */
  function onExit(thread: PageThread): void {
    freeCells.push(thread.cell);
    if (thread.alive) {
      const cell = thread.cell;
      const running = Atomics.load(shared.startedAt, cell) !== 0n ? Atomics.load(shared.running, cell) : undefined;
      const outOfMemory = (thread.error as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      const fail = (job: PageJob) => {
        if (outOfMemory) {
          stats.outOfMemory += 1;
          queue.charge(job.page.group, budget);
          settle(job, { kind: 'too-large', message: tooLarge(job.page.url) });
        } else {
          settle(job, thread.error ?? new Error(`conversion thread exited while converting ${job.page.url}`), false);
        }
      };
      retire(thread, running, fail, true);
    }
    if (threads.length === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
    pump();
  }

  function tick(): void {
    const now = Date.now();
    for (const thread of [...threads]) {
      if (thread.pages.length === 0) {
        // A warm pool keeps fresh threads; one that converted pages is replaced by a fresh one, which frees whatever its heap grew to.
        if (now - thread.idleSince >= idleTimeout && (!keepWarm || thread.used)) retire(thread);
        continue;
      }
      const started = Atomics.load(shared.startedAt, thread.cell);
      if (started === 0n) continue;
      if (now - Number(started) < budget) {
        if (now - Number(started) >= stealAfterMs && !thread.stuck) steal(thread);
        continue;
      }
      const running = Atomics.load(shared.running, thread.cell);
      // Unchanged start: `running` is the page that started then, still converting.
      if (Atomics.load(shared.startedAt, thread.cell) !== started) continue;
      retire(thread, running, (job) => {
        stats.timedOut += 1;
        queue.charge(job.page.group, budget);
        settle(job, { kind: 'too-complex', message: tooComplex(job.page.url) });
      });
    }
    pump();
  }

  /** Takes back the pages a thread has not started while its current page runs long, so they need not wait for its end. */
  function steal(thread: PageThread): void {
    thread.stuck = true;
    const from = thread.pages.findIndex((j) => j.seq === Atomics.load(shared.running, thread.cell)) + 1;
    if (from === 0) return;
    const kept = thread.pages.slice(0, from);
    const taken: PageJob[] = [];
    for (const job of thread.pages.slice(from)) {
      if (job.state === 'sent') {
        // Marked first, then `running` read: the thread either skips the page or is seen to have just taken it (then it stays).
        Atomics.store(shared.cancelled, job.seq % CANCEL_CELLS, job.seq);
        if (Atomics.load(shared.running, thread.cell) !== job.seq) {
          taken.push(job);
          continue;
        }
      }
      kept.push(job);
    }
    thread.pages = kept;
    for (const job of taken.reverse()) {
      job.seq = nextSeq(); // the thread skips the old one
      requeue(job);
    }
    pump();
  }

  function cancel(job: PageJob, reason: unknown): void {
    if (job.state === 'queued') {
      queue.dropped();
      settle(job, reason, false);
      return;
    }
    const thread = job.thread;
    if (job.state !== 'sent' || !thread) return;
    Atomics.store(shared.cancelled, job.seq % CANCEL_CELLS, job.seq);
    settle(job, reason, false);
    // The thread has taken the page (or is taking it): stop it now; its other pages go to other threads.
    if (Atomics.load(shared.running, thread.cell) === job.seq) {
      retire(thread);
      pump();
    }
  }

  function warm(): void {
    keepWarm = true;
    pump(); // threads start now, or as soon as the thread script is built
  }

  function convert(page: PageToConvert, signal?: AbortSignal): Promise<PoolOutcome> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<PoolOutcome>((resolve, reject) => {
      const job: PageJob = { seq: nextSeq(), page, signal, state: 'queued', thread: undefined, requeues: 0, resolve, reject };
      if (signal) watch.add(signal, job);
      queue.push(page.group, job);
      pump();
    });
  }

  // The script is built now, off the path of the first pages (a build takes ~0.15 s); threads start on the first pages or warm().
  ensureScript();

  return {
    convert,
    warm,
    backlogged: (arriving = 0) => queue.length + arriving >= WAITING_PAGES_PER_THREAD * maxThreads,
    stats: () => ({ ...stats, peakHeapBytes: { ...stats.peakHeapBytes }, liveThreads: threads.map((t) => t.worker.threadId) }),
    close: async () => {
      const closed = new Error('the conversion pool is closed');
      keepWarm = false;
      for (let job = queue.shift(); job; job = queue.shift()) settle(job, closed, false);
      const exits = threads.map((t) => new Promise((resolve) => t.worker.once('exit', resolve)));
      for (const thread of [...threads]) {
        for (const job of thread.pages) settle(job, closed, false);
        retire(thread);
      }
      await Promise.all(exits);
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
