import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../../storage/blob-store';

/** Copies a stored artifact to a temporary local file for an upload that reads it in ranges; `done()` removes it. */
export async function localCopy(store: BlobStore, key: string): Promise<{ file: string; size: number; done(): Promise<void> }> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), `artifact-${randomBytes(3).toString('hex')}-`));
  const file = path.join(dir, path.basename(key));
  await pipeline(await store.get(key), fs.createWriteStream(file));
  const { size } = await fs.promises.stat(file);
  return { file, size, done: () => fs.promises.rm(dir, { recursive: true, force: true }) };
}
