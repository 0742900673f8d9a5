import type { ConversionFormat } from '../../workflows/bulk-conversion/formats';
import { ContentTooComplexError, extractArticle, UnparseableContentError } from './extract';
import { buildH5pPackage } from './h5p';
import { toMarkdown } from './markdown';
import { writeBlobFileSync } from '../../storage/fs-blob-file';

// The CPU part of converting one page (parse, extract, sanitize, render, zip). It runs in a
// conversion thread (see page-thread.ts and conversion-pool.ts), so a page that takes too long or too much
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

export type PageTaskResult = ({ ok: true } & PageArtifact) | PageFailure;

/** Converts one page and stores or returns its artifact; content the converter refuses comes back as a failure. */
export function runPageTask(task: PageTask): PageTaskResult {
  try {
    const { title, body } = convertPage(task.html, task.url, task.format);
    return { ok: true, title, bytes: body.byteLength, ...(task.writeTo && stored(task.writeTo, body) ? {} : { body }) };
  } catch (e) {
    return pageFailure(e, task.url);
  }
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
