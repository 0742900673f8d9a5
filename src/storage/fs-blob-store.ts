import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import {
  assertValidKey,
  BlobInfo,
  InvalidBlobKeyError,
  BlobNotFoundError,
  BlobStore,
  BlobStoreUnavailableError,
  ByteRange,
  LocalBlobFile,
} from './blob-store';
import { impliedContentType } from './content-types';
import { DirectorySyncer } from './directory-syncer';
import { META_SUFFIX, TMP_SUFFIX, tempNameFor, writeAllSync } from './fs-blob-file';

const fsync = promisify(fs.fsync);

// Small buffers are written synchronously: tens of µs into the page cache, where the async
// path (open, write, close, rename) costs four event-loop round trips each — ~30 ms per
// artifact in a worker converting hundreds of pages a second. Only the fsyncs, which wait
// for the disk, leave the event loop. Bigger bodies stay async throughout.
const SYNC_WRITE_MAX_BYTES = 64 * 1024;
/** How long a folder sync for local files waits to gather more renames (one sync per batch, not per file). */
const LOCAL_FILE_GATHER_MS = 20;

/**
 * Filesystem blob store: `<root>/<key>`. Each write goes to a temp file that is fsynced before
 * it is renamed into place and the folder is fsynced after, so after a crash or power loss a key
 * holds its old content or the whole new one — never an empty or partial file.
 */
export class FsBlobStore implements BlobStore {
  /** Folders known to exist: creating them again is a wasted syscall per artifact. */
  private readonly madeDirs = new Set<string>();
  private readonly dirSyncer = new DirectorySyncer();
  /** For local files written by other threads, whose callers report them only after the sync. */
  private readonly gatheringDirSyncer = new DirectorySyncer(LOCAL_FILE_GATHER_MS);

  constructor(private readonly root: string) {}

  get location(): string {
    return this.root;
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    const name = key.slice(key.lastIndexOf('/') + 1);
    if (isSidecar(name)) throw new InvalidBlobKeyError(key, `names ending in ${META_SUFFIX} or ${TMP_SUFFIX} are reserved`);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, body: Readable | Buffer | string, options: { contentType?: string } = {}): Promise<BlobInfo> {
    const file = this.pathOf(key);
    const dir = path.dirname(file);
    await this.ensureDir(dir);
    const implied = impliedContentType(file);
    const extraType = options.contentType && options.contentType !== implied ? options.contentType : undefined;
    const tmp = tempNameFor(file);
    let bytes: number;
    try {
      bytes = await writeSynced(tmp, body);
      fs.renameSync(tmp, file);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') this.madeDirs.delete(dir);
      throw e;
    }
    // The type travels in a sidecar only when the extension does not imply it; a stale one from an earlier put goes.
    if (extraType) await this.writeMeta(file, extraType);
    else fs.rmSync(file + META_SUFFIX, { force: true });
    await this.dirSyncer.sync(dir);
    return { key, bytes, contentType: options.contentType ?? implied };
  }

  /** Makes `dir` unless this store made it before; then there is nothing to wait for (undefined). */
  private ensureDir(dir: string): Promise<void> | undefined {
    if (this.madeDirs.has(dir)) return undefined;
    return fsp.mkdir(dir, { recursive: true }).then(() => void this.madeDirs.add(dir));
  }

  async localFile(key: string, options: { contentType?: string } = {}): Promise<LocalBlobFile | undefined> {
    const file = this.pathOf(key);
    const contentType = impliedContentType(file);
    if (options.contentType && options.contentType !== contentType) return undefined; // needs a metadata sidecar: use put()
    const dir = path.dirname(file);
    // Called once per artifact: a folder already made costs no await.
    const making = this.ensureDir(dir);
    if (making) await making;
    return {
      file,
      commit: (bytes) => this.gatheringDirSyncer.sync(dir).then(() => ({ key, bytes, contentType })),
    };
  }

  /** The metadata sidecar goes through the same temp-file-fsync-rename as the blob itself. */
  private async writeMeta(file: string, contentType: string): Promise<void> {
    const tmp = tempNameFor(file + META_SUFFIX);
    try {
      await writeSynced(tmp, JSON.stringify({ contentType }));
      fs.renameSync(tmp, file + META_SUFFIX);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.pathOf(key);
    try {
      const handle = await fsp.open(file, 'r');
      // autoClose (the default): destroying the stream, e.g. for an aborted download, closes the file at once.
      return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobNotFoundError(key);
      throw e;
    }
  }

  async getBuffer(key: string): Promise<Buffer> {
    try {
      return await fsp.readFile(this.pathOf(key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobNotFoundError(key);
      throw e;
    }
  }

  async stat(key: string): Promise<BlobInfo | null> {
    const file = this.pathOf(key);
    try {
      const { size, mtime } = await fsp.stat(file);
      let contentType = impliedContentType(file);
      try {
        contentType = JSON.parse(await fsp.readFile(file + META_SUFFIX, 'utf8')).contentType;
      } catch {
        /* no metadata */
      }
      return { key, bytes: size, contentType, modifiedAt: mtime };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    await fsp.rm(file, { force: true });
    await fsp.rm(file + META_SUFFIX, { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    await this.walkFiles(this.folderOf(prefix), async (_file, key, name) => {
      if (!isSidecar(name) && key.startsWith(prefix)) out.push(key);
    });
    return out.sort(byKey);
  }

  /** The folder `prefix` lies in, so listings walk only that subtree. */
  private folderOf(prefix: string): { dir: string; rel: string } {
    const rel = prefix.slice(0, prefix.lastIndexOf('/') + 1).replace(/\/+$/, '');
    return { dir: rel ? path.join(this.root, ...rel.split('/')) : this.root, rel };
  }

  async listInfo(prefix: string): Promise<BlobInfo[]> {
    const out: BlobInfo[] = [];
    await this.walkFiles(this.folderOf(prefix), async (file, key, name) => {
      if (isSidecar(name) || !key.startsWith(prefix)) return;
      const { size, mtime } = await fsp.stat(file);
      out.push({ key, bytes: size, modifiedAt: mtime });
    });
    return out.sort((a, b) => byKey(a.key, b.key));
  }

  async listFolders(folder: string): Promise<string[]> {
    const { dir } = this.folderOf(folder.endsWith('/') ? folder : `${folder}/`);
    try {
      const entries = await fsp.readdir(dir, { withFileTypes: true });
      return entries
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort(byKey);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  /** Removes the folder's files, then its folders bottom-up; a folder something was just written to stays. */
  async deleteFolder(folder: string): Promise<{ files: number; bytes: number }> {
    const where = this.folderOf(folder.endsWith('/') ? folder : `${folder}/`);
    if (!where.rel) throw new Error('refusing to delete the whole blob store');
    let files = 0;
    let bytes = 0;
    const dirs = new Set<string>([where.dir]);
    await this.walkFiles(
      where,
      async (file, _key, name) => {
        dirs.add(path.dirname(file));
        if (!isSidecar(name)) {
          const { size } = await fsp.stat(file).catch(() => ({ size: 0 }));
          files += 1;
          bytes += size;
        }
        await fsp.rm(file, { force: true });
      },
      (dir) => void dirs.add(dir),
    );
    // Deepest first, so parents are empty by the time they come up.
    for (const dir of [...dirs].sort((a, b) => b.length - a.length)) {
      this.madeDirs.delete(dir);
      await fsp.rmdir(dir).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT' && e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
      });
    }
    return { files, bytes };
  }

  async check(): Promise<void> {
    const probe = path.join(this.root, `.check-${randomUUID()}${TMP_SUFFIX}`);
    try {
      await fsp.mkdir(this.root, { recursive: true });
      await writeSynced(probe, 'ok');
      await fsp.rm(probe);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new BlobStoreUnavailableError(`blob folder ${this.root} (under DATA_DIR) is not writable: ${err.code ?? err.message}`);
    }
  }

  private async walkFiles(
    start: { dir: string; rel: string },
    onFile: (file: string, key: string, name: string) => Promise<void>,
    onDir?: (dir: string) => void,
  ): Promise<void> {
    const walk = async (dir: string, rel: string) => {
      let entries: fs.Dirent[];
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw e;
      }
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        const full = path.join(dir, e.name);
        if (e.isDirectory()) {
          onDir?.(full);
          await walk(full, key);
        } else {
          await onFile(full, key, e.name);
        }
      }
    };
    await walk(start.dir, start.rel);
  }
}

/** Files beside the blobs: metadata and half-written temp files. */
const isSidecar = (name: string) => name.endsWith(TMP_SUFFIX) || name.endsWith(META_SUFFIX);

/** Code-unit order, the order S3 lists keys in. */
const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Writes `body` to a new file and fsyncs it before closing; returns the bytes written. */
async function writeSynced(file: string, body: Readable | Buffer | string): Promise<number> {
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const data = typeof body === 'string' ? Buffer.from(body) : body;
    if (data.length <= SYNC_WRITE_MAX_BYTES) {
      const fd = fs.openSync(file, 'w');
      try {
        writeAllSync(fd, data);
        await fsync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return data.length;
    }
  }
  let bytes: number;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    await fsp.writeFile(file, body);
    bytes = Buffer.byteLength(body);
  } else {
    const out = fs.createWriteStream(file);
    await pipeline(body, out);
    bytes = out.bytesWritten;
  }
  // fsync flushes the file, whichever descriptor asks (a stream's own descriptor is closed by now).
  const handle = await fsp.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  return bytes;
}
