import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { BULK_CONVERSION_LIMITS, urlManifestIndexPath } from '../../workflows/bulk-conversion/contract';
import { jobFileKey } from '../../shared/urls';
import { BlobNotFoundError, BlobStore } from '../../storage/blob-store';
import { readLineBatches } from '../../storage/json-lines';

// The line index of a stored URL manifest lets a chunk read just its own lines with one ranged
// read. One offset every 100 lines: a chunk (100 to 1,000 URLs) reads at most 99 lines before and
// after its own, and a 100,000-URL manifest's index is 1,000 offsets (about 10 KB).
export const MANIFEST_INDEX_EVERY = 100;

/** What the index file holds. */
export interface UrlManifestIndex {
  /** Lines in the manifest. */
  lines: number;
  /** Bytes in the manifest. */
  bytes: number;
  /** `offsets[i]` is the byte offset of line `i * every` (lines numbered from 0). */
  every: number;
  offsets: number[];
}

/** Builds the index from the lengths of the manifest's lines as they are written. */
export function manifestIndexBuilder(every = MANIFEST_INDEX_EVERY) {
  const index: UrlManifestIndex = { lines: 0, bytes: 0, every, offsets: [] };
  return {
    index,
    addLine(bytes: number): void {
      if (index.lines % every === 0) index.offsets.push(index.bytes);
      index.lines += 1;
      index.bytes += bytes;
    },
  };
}

/** Far above any valid index (at most 1,000 offsets of a few digits each): reading stops there. */
const MAX_INDEX_BYTES = 64 * 1024;

const indexSchema = z
  .object({
    lines: z.number().int().min(0).max(BULK_CONVERSION_LIMITS.maxUrls),
    bytes: z.number().int().min(0),
    every: z.number().int().min(1),
    offsets: z.array(z.number().int().min(0)),
  })
  .refine((i) => i.offsets.length === Math.ceil(i.lines / i.every), 'offsets do not match the line count')
  .refine((i) => i.offsets.every((o, n) => (n === 0 ? o === 0 : o > i.offsets[n - 1]) && o < i.bytes), 'offsets out of order');

export function manifestFailure(type: 'ManifestNotFound' | 'InvalidManifest', message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** The index stored at `key`, or undefined when there is none; InvalidManifest when it is not one. */
export async function loadManifestIndex(store: BlobStore, key: string): Promise<UrlManifestIndex | undefined> {
  let raw: Buffer;
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of await store.get(key, { start: 0, end: MAX_INDEX_BYTES - 1 })) chunks.push(chunk as Buffer);
    raw = Buffer.concat(chunks);
  } catch (e) {
    if (e instanceof BlobNotFoundError) return undefined;
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw manifestFailure(
      'InvalidManifest',
      `the URL manifest's index is not JSON${raw.length >= MAX_INDEX_BYTES ? ' (or too large)' : ''}`,
    );
  }
  const checked = indexSchema.safeParse(parsed);
  if (!checked.success) throw manifestFailure('InvalidManifest', `the URL manifest's index is invalid: ${checked.error.issues[0].message}`);
  return checked.data;
}

/**
 * Up to `count` URLs of the manifest from line `start` on, read with one ranged read from the
 * indexed line at or before `start` to the one at or after `start + count` (or the end).
 * Fewer when the manifest has fewer lines; InvalidManifest at a line that is not a JSON string.
 */
export async function readManifestUrls(
  store: BlobStore,
  key: string,
  index: UrlManifestIndex,
  start: number,
  count: number,
): Promise<string[]> {
  const firstBlock = Math.floor(start / index.every);
  if (count <= 0 || firstBlock >= index.offsets.length) return [];
  const endBlock = Math.ceil((start + count) / index.every);
  const end = endBlock < index.offsets.length ? index.offsets[endBlock] - 1 : index.bytes - 1;
  const urls: string[] = [];
  let lineNumber = firstBlock * index.every; // from 0
  for await (const lines of readLineBatches(store, key, { start: index.offsets[firstBlock], end })) {
    for (const line of lines) {
      if (lineNumber >= start) {
        let url: unknown;
        try {
          url = JSON.parse(line);
        } catch {
          url = undefined;
        }
        if (typeof url !== 'string')
          throw manifestFailure('InvalidManifest', `line ${lineNumber + 1} of the URL manifest is not a JSON string`);
        urls.push(url);
        if (urls.length === count) return urls;
      }
      lineNumber += 1;
    }
  }
  return urls;
}

/**
 * A job's indexed manifest, ready for ranged reads of its URLs, or undefined when it or its index
 * is gone; `read` answers undefined too when the manifest is gone.
 */
export async function openIndexedManifest(
  store: BlobStore,
  jobId: string,
  manifestPath: string,
): Promise<{ read(start: number, count: number): Promise<string[] | undefined> } | undefined> {
  const index = await loadManifestIndex(store, jobFileKey(jobId, urlManifestIndexPath(manifestPath)));
  if (!index) return undefined;
  const manifestKey = jobFileKey(jobId, manifestPath);
  return {
    async read(start, count) {
      try {
        return await readManifestUrls(store, manifestKey, index, start, count);
      } catch (e) {
        if (e instanceof BlobNotFoundError) return undefined;
        throw e;
      }
    },
  };
}
