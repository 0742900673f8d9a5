import readline from 'node:readline';
import { Readable } from 'node:stream';
import { BlobNotFoundError, BlobStore } from './blob-store';

// Manifests and result files are JSON lines: streamed in and out so 100,000 URLs never sit in memory as one string.

export async function* readJsonLines<T>(store: BlobStore, key: string): AsyncGenerator<T> {
  const input = await store.get(key);
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line.trim()) yield JSON.parse(line) as T;
    }
  } finally {
    // The reader may stop early (a bad line, a consumer that breaks): release the file either way.
    lines.close();
    input.destroy();
  }
}

/** Every line of a JSON-lines blob, or undefined when the blob does not exist. */
export async function readAllJsonLines<T>(store: BlobStore, key: string): Promise<T[] | undefined> {
  const out: T[] = [];
  try {
    for await (const item of readJsonLines<T>(store, key)) out.push(item);
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
export async function writeJsonLines(
  store: BlobStore,
  key: string,
  items: Iterable<unknown> | AsyncIterable<unknown>,
  onLine?: (bytes: number) => void,
): Promise<number> {
  async function* lines() {
    // Batch lines into ~64 KB writes rather than one write per item.
    let buffer = '';
    for await (const item of items) {
      const line = `${JSON.stringify(item)}\n`;
      onLine?.(Buffer.byteLength(line));
      buffer += line;
      if (buffer.length >= 65_536) {
        yield buffer;
        buffer = '';
      }
    }
    if (buffer) yield buffer;
  }
  const info = await store.put(key, Readable.from(lines()), { contentType: 'application/x-ndjson' });
  return info.bytes;
}
