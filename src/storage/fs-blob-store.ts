import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertValidKey, BlobInfo, BlobNotFoundError, BlobStore } from './blob-store';

// Content types that follow from the file extension need no metadata file (one write less per artifact).
const TYPE_BY_EXTENSION: Record<string, string> = {
  '.h5p': 'application/zip',
  '.zip': 'application/zip',
  '.md': 'text/markdown; charset=utf-8',
  '.mp4': 'video/mp4',
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
};

// Small buffers are written synchronously: tens of µs into the page cache, where the async
// path (open, write, close, rename) costs four event-loop round trips each — ~30 ms per
// artifact in a worker converting hundreds of pages a second. Bigger bodies stay async.
const SYNC_WRITE_MAX_BYTES = 64 * 1024;

/** Filesystem blob store: `<root>/<key>`, written to a temp file then renamed so readers never see half an object. */
export class FsBlobStore implements BlobStore {
  /** Folders known to exist: creating them again is a wasted syscall per artifact. */
  private readonly madeDirs = new Set<string>();

  constructor(private readonly root: string) {}

  private pathOf(key: string): string {
    assertValidKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, body: Readable | Buffer | string, options: { contentType?: string } = {}): Promise<BlobInfo> {
    const file = this.pathOf(key);
    const dir = path.dirname(file);
    if (!this.madeDirs.has(dir)) {
      await fsp.mkdir(dir, { recursive: true });
      this.madeDirs.add(dir);
    }
    const tmp = `${file}.${randomUUID()}.tmp`;
    let bytes = 0;
    try {
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        const data = typeof body === 'string' ? Buffer.from(body) : body;
        bytes = data.length;
        if (bytes <= SYNC_WRITE_MAX_BYTES) {
          fs.writeFileSync(tmp, data);
          fs.renameSync(tmp, file);
        } else {
          await fsp.writeFile(tmp, data);
          await fsp.rename(tmp, file);
        }
      } else {
        const out = fs.createWriteStream(tmp);
        await pipeline(body, out);
        bytes = out.bytesWritten;
        await fsp.rename(tmp, file);
      }
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') this.madeDirs.delete(dir);
      throw e;
    }
    const implied = TYPE_BY_EXTENSION[path.extname(file)];
    if (options.contentType && options.contentType !== implied) {
      await fsp.writeFile(`${file}.meta.json`, JSON.stringify({ contentType: options.contentType }));
    }
    return { key, bytes, contentType: options.contentType ?? implied };
  }

  async get(key: string): Promise<Readable> {
    const file = this.pathOf(key);
    try {
      const handle = await fsp.open(file, 'r');
      return handle.createReadStream();
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
      let contentType: string | undefined = TYPE_BY_EXTENSION[path.extname(file)];
      try {
        contentType = JSON.parse(await fsp.readFile(`${file}.meta.json`, 'utf8')).contentType;
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
    await fsp.rm(`${file}.meta.json`, { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, rel: string) => {
      let entries: fs.Dirent[];
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(path.join(dir, e.name), key);
        else if (!e.name.endsWith('.tmp') && !e.name.endsWith('.meta.json') && key.startsWith(prefix)) out.push(key);
      }
    };
    await walk(this.root, '');
    return out.sort();
  }

  /** The folder `prefix` lies in, so listings walk only that subtree. */
  private folderOf(prefix: string): { dir: string; rel: string } {
    const rel = prefix.slice(0, prefix.lastIndexOf('/') + 1).replace(/\/+$/, '');
    return { dir: rel ? this.pathOf(rel) : this.root, rel };
  }

  async listInfo(prefix: string): Promise<BlobInfo[]> {
    const out: BlobInfo[] = [];
    await this.walkFiles(this.folderOf(prefix), async (file, key, name) => {
      if (isSidecar(name) || !key.startsWith(prefix)) return;
      const { size, mtime } = await fsp.stat(file);
      out.push({ key, bytes: size, modifiedAt: mtime });
    });
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async listFolders(folder: string): Promise<string[]> {
    const { dir } = this.folderOf(folder.endsWith('/') ? folder : `${folder}/`);
    try {
      const entries = await fsp.readdir(dir, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
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
    await this.walkFiles(where, async (file, _key, name) => {
      dirs.add(path.dirname(file));
      if (!isSidecar(name)) {
        const { size } = await fsp.stat(file).catch(() => ({ size: 0 }));
        files += 1;
        bytes += size;
      }
      await fsp.rm(file, { force: true });
    }, (dir) => void dirs.add(dir));
    // Deepest first, so parents are empty by the time they come up.
    for (const dir of [...dirs].sort((a, b) => b.length - a.length)) {
      this.madeDirs.delete(dir);
      await fsp.rmdir(dir).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT' && e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
      });
    }
    return { files, bytes };
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
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
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
const isSidecar = (name: string) => name.endsWith('.tmp') || name.endsWith('.meta.json');
