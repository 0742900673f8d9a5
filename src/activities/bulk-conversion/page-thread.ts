import fs from 'node:fs';
import os from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { isMainThread, workerData } from 'node:worker_threads';
import { runPageTask } from './convert-page';
import { warmUpConverter } from './page-thread-warm-up';
import { CANCEL_CELLS, PageMessage, PageThreadData, ResultMessage } from './page-thread-protocol';

// The body of a conversion thread (the entry of the prebuilt bundle, see page-thread-script.ts):
// converts the pages that arrive on its port one after another and answers each with one
// message. Pages sent while one converts wait in the port, so the next starts the moment the
// previous one ends. Before each page it stamps the shared cells the pool watches: which page
// it took and when it started, so the pool can time it out and terminate this thread.

/** Nice value of conversion threads (the event loop keeps 0). */
const THREAD_NICE = 5;

if (!isMainThread && (workerData as Partial<PageThreadData> | null)?.port) serve(workerData as PageThreadData);

function serve({ port, cell, running, startedAt, cancelled }: PageThreadData): void {
  lowerPriority();
  // Pages sent meanwhile wait in the port; no page's budget runs until it is taken.
  warmUpConverter();
  port.on('message', ([seq, html, url, format, writeTo]: PageMessage) => {
    Atomics.store(running, cell, seq);
    // The pool marks a page cancelled before it looks at `running`: one of the two sides sees the other.
    if (Atomics.load(cancelled, seq % CANCEL_CELLS) === seq) return port.postMessage([seq, 'skipped'] satisfies ResultMessage);
    const started = Date.now();
    Atomics.store(startedAt, cell, BigInt(started));
    let reply: ResultMessage;
    const transfer: ArrayBuffer[] = [];
    try {
      const result = runPageTask({ html, url, format, writeTo });
      const heapBytes = getHeapStatistics().total_heap_size;
      if (result.ok) {
        const { body } = result;
        // A body that owns its whole buffer moves to the pool instead of being copied.
        if (body && body.byteOffset === 0 && body.byteLength === body.buffer.byteLength) transfer.push(body.buffer as ArrayBuffer);
        reply = [seq, 'converted', result.title, result.bytes, body, heapBytes, Date.now() - started];
      } else {
        reply = [seq, result.failure, result.message, heapBytes, Date.now() - started];
      }
    } catch (e) {
      reply = [seq, 'error', e instanceof Error ? (e.stack ?? e.message) : String(e)];
    }
    Atomics.store(startedAt, cell, 0n);
    port.postMessage(reply, transfer);
  });
}

/**
 * Conversion threads run at a lower priority than the event loop: a thread woken for a page
 * does not preempt the loop that fetches, heartbeats and hands out pages, and a page that
 * burns its whole budget takes spare CPU only. Linux only (a thread's nice value); elsewhere a no-op.
 */
function lowerPriority(): void {
  try {
    os.setPriority(Number(fs.readlinkSync('/proc/thread-self').split('/').pop()), THREAD_NICE);
  } catch {
    // no /proc/thread-self: not Linux
  }
}
