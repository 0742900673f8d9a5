import { getHeapStatistics } from 'node:v8';
import { threadId, workerData } from 'node:worker_threads';
import type { ConversionFormat } from '../../workflows/bulk-conversion/formats';
import { ContentTooComplexError, extractArticle, UnparseableContentError } from './extract';
import { buildH5pPackage } from './h5p';
import { toMarkdown } from './markdown';
import { writeBlobFileSync } from '../../storage/fs-blob-file';

// The CPU part of converting one page (parse, extract, sanitize, render, zip). It runs in a
// conversion thread (see conversion-pool.ts), so a page that takes too long or too much
// memory costs that thread only.

export interface ConvertedPage {
  title: string;
  body: Uint8Array;
}

/** Converts fetched HTML into the artifact's bytes; throws UnparseableContentError for pages without text. */
export function convertPage(html: string, url: string, format: ConversionFormat): ConvertedPage {
  const article = extractArticle(html, url);
  // Fresh, exactly sized arrays: a pooled Buffer would carry its whole 8 KB slab across the thread boundary.
  const body = format === 'h5p' ? new Uint8Array(buildH5pPackage(article)) : new TextEncoder().encode(toMarkdown(article));
  return { title: article.title, body };
}

export interface PageTask {
  html: string;
  url: string;
  format: ConversionFormat;
  /** This task's cell in the pool's start-time table. */
  slot: number;
  /** A local blob file to store the artifact in (see BlobStore.localFile); otherwise its bytes come back. */
  writeTo?: string;
}

export type PageFailure = { ok: false; failure: 'unparseable' | 'too-complex'; message: string };

/** A converted page: `body` is absent when the thread stored it in `writeTo`. */
export interface PageArtifact {
  title: string;
  bytes: number;
  body?: Uint8Array;
}

export type PageTaskResult = (({ ok: true } & PageArtifact) | PageFailure) & {
  thread: number;
  /** V8 heap of the thread after the task (committed bytes). */
  heapBytes: number;
};

/** Shared with the pool: when each slot's task started in its thread (ms since epoch, 0 = not started). */
const startTimes: BigInt64Array | undefined = (workerData as { startTimes?: BigInt64Array } | null)?.startTimes;

/** The thread's task handler (piscina calls the default export). */
export default function runPageTask(task: PageTask): PageTaskResult {
  // The page's time budget counts from here, not from when the task was queued or the thread was still loading.
  if (startTimes) Atomics.store(startTimes, task.slot, BigInt(Date.now()));
  let result: ({ ok: true } & PageArtifact) | PageFailure;
  try {
    const { title, body } = convertPage(task.html, task.url, task.format);
    result = { ok: true, title, bytes: body.byteLength, ...(task.writeTo && stored(task.writeTo, body) ? {} : { body }) };
  } catch (e) {
    result = pageFailure(e, task.url);
  }
  return { ...result, thread: threadId, heapBytes: getHeapStatistics().total_heap_size };
}

/** Stores the artifact from this thread; on any file error the bytes go back and the main thread's store.put() handles it. */
function stored(file: string, body: Uint8Array): boolean {
  try {
    writeBlobFileSync(file, body);
    return true;
  } catch {
    return false;
  }
}

function pageFailure(e: unknown, url: string): PageFailure {
  if (e instanceof UnparseableContentError) return { ok: false, failure: 'unparseable', message: e.message };
  if (e instanceof ContentTooComplexError) return { ok: false, failure: 'too-complex', message: e.message };
  // Stack overflow or an array/string past V8's size limits: the page's structure, not a passing fault.
  if (e instanceof RangeError)
    return { ok: false, failure: 'too-complex', message: `the page at ${url} is beyond the converter's limits: ${e.message}` };
  throw e;
}
