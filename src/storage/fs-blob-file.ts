import { randomUUID } from 'node:crypto';
import fs from 'node:fs';

// The on-disk shape of one filesystem blob, shared by the fs store and by writers on other
// threads (conversion threads write their artifacts themselves, off the worker's event loop).

export const META_SUFFIX = '.meta.json';
export const TMP_SUFFIX = '.tmp';

export const tempNameFor = (file: string) => `${file}.${randomUUID()}${TMP_SUFFIX}`;

/** Writes all of `data` to an open file. */
export function writeAllSync(fd: number, data: Uint8Array): void {
  for (let done = 0; done < data.byteLength;) done += fs.writeSync(fd, data, done, data.byteLength - done);
}

/**
 * Blocking put of a small blob whose content type its extension implies: temp file, fsync,
 * rename, and any stale metadata sidecar removed. The folder must exist; its fsync (which
 * makes the rename durable) is the caller's, so many files can share one.
 */
export function writeBlobFileSync(file: string, data: Uint8Array): void {
  const tmp = tempNameFor(file);
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      writeAllSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  // existsSync first: rmSync({ force }) costs an lstat and a thrown ENOENT on every put, and there is almost never a sidecar.
  if (fs.existsSync(file + META_SUFFIX)) fs.rmSync(file + META_SUFFIX, { force: true });
}
