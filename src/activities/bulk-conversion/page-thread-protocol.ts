import type { MessagePort } from 'node:worker_threads';
import type { ConversionFormat } from '../../workflows/bulk-conversion/formats';

// What the conversion pool and its threads exchange: compact tuples over one MessagePort per
// thread, and a few shared-memory cells the pool reads without a message round trip.

/** Pool → thread: one page to convert. `seq` names the page in the pool (never 0). */
export type PageMessage = [seq: number, html: string, url: string, format: ConversionFormat, writeTo: string | undefined];

/** Thread → pool, one per page, in the order the pages were sent. */
export type ResultMessage =
  | [seq: number, kind: 'converted', title: string, bytes: number, body: Uint8Array | undefined, heapBytes: number, threadMs: number]
  | [seq: number, kind: 'unparseable' | 'too-complex', message: string, heapBytes: number, threadMs: number]
  /** The page was cancelled before the thread started it. */
  | [seq: number, kind: 'skipped']
  /** The converter threw something that is not about the page (a bug): the pool rejects the page with it. */
  | [seq: number, kind: 'error', message: string];

/** Cells of the cancelled-page table: a page is cancelled when its cell holds its seq. */
export const CANCEL_CELLS = 1024;

export interface PageThreadData {
  port: MessagePort;
  /** This thread's cell in `running` and `startedAt`. */
  cell: number;
  /** Per thread cell: seq of the page the thread took last. */
  running: Int32Array;
  /** Per thread cell: when the thread started its current page (ms since epoch), 0 between pages. */
  startedAt: BigInt64Array;
  /** See CANCEL_CELLS. */
  cancelled: Int32Array;
}
