import { Readable } from 'node:stream';
import { BlobNotFoundError, BlobStore, ByteRange } from './blob-store';

// Manifests and result files are JSON lines: streamed in and out so 100,000 URLs never sit in memory as one string.

/**
 * The blob's lines (or those of `range`) a batch at a time, as they arrive: one await per chunk
 * read rather than several per line. A last line without its newline counts.
 */
export async function* readLineBatches(store: BlobStore, key: string, range?: ByteRange): AsyncGenerator<string[]> {
  const input = await store.get(key, range);
  input.setEncoding('utf8');
  let partial = '';
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      const text = partial + chunk;
      const last = text.lastIndexOf('\n');
      if (last < 0) {
        partial = text;
        continue;
      }
      partial = text.slice(last + 1);
      yield text.slice(0, last).split('\n');
    }
    if (partial) yield [partial];
  } finally {
    // The reader may stop early (a bad line, a consumer that breaks): release the file either way.
    input.destroy();
  }
}

/** The blob's items a batch at a time; blank lines are skipped. */
export async function* readJsonLineBatches<T>(store: BlobStore, key: string): AsyncGenerator<T[]> {
  for await (const lines of readLineBatches(store, key)) {
    const items: T[] = [];
    for (const line of lines) if (line.trim()) items.push(JSON.parse(line) as T);
    if (items.length) yield items;
  }
}

export async function* readJsonLines<T>(store: BlobStore, key: string): AsyncGenerator<T> {
  for await (const batch of readJsonLineBatches<T>(store, key)) yield* batch;
}

/** Every line of a JSON-lines blob, or undefined when the blob does not exist. */
export async function readAllJsonLines<T>(store: BlobStore, key: string): Promise<T[] | undefined> {
  const out: T[] = [];
  try {
    for await (const batch of readJsonLineBatches<T>(store, key)) for (const item of batch) out.push(item);
  } catch (e) {
    if (e instanceof BlobNotFoundError) return undefined;
    throw e;
  }
  return out;
}

/**
 * Writes items as JSON lines in one atomic put (readers see the old file or the whole new one).
 * `onLine` hears each line's length in bytes, newline included, as it is written.
 */
export function writeJsonLines(
  store: BlobStore,
  key: string,
  items: Iterable<unknown> | AsyncIterable<unknown>,
  onLine?: (bytes: number) => void,
): Promise<number> {
  async function* batches(): AsyncGenerator<Iterable<unknown>> {
    if (Symbol.iterator in items) yield items;
    else for await (const item of items) yield [item];
  }
  return writeJsonLineBatches(store, key, batches(), onLine);
}

/** As writeJsonLines, from batches of items: one await per batch, not per line. */
export async function writeJsonLineBatches(
  store: BlobStore,
  key: string,
  batches: AsyncIterable<Iterable<unknown>>,
  onLine?: (bytes: number) => void,
): Promise<number> {
  async function* text() {
    // Lines go out in ~64 KB writes rather than one write per item.
    let buffer = '';
    for await (const batch of batches) {
      for (const item of batch) {
        const line = `${JSON.stringify(item)}\n`;
        onLine?.(Buffer.byteLength(line));
        buffer += line;
        if (buffer.length >= 65_536) {
          yield buffer;
          buffer = '';
        }
      }
    }
    if (buffer) yield buffer;
  }
  const info = await store.put(key, Readable.from(text()), { contentType: 'application/x-ndjson' });
  return info.bytes;
}
