import type { Readable } from 'node:stream';

// Artifacts, manifests and results live here and travel through Temporal by key only.

export interface BlobInfo {
  key: string;
  bytes: number;
  contentType?: string;
  /** When the object was last written (stat and listInfo fill it in). */
  modifiedAt?: Date;
}

export interface BlobStore {
  /** Streams `body` to `key`, replacing any previous object atomically. */
  put(key: string, body: Readable | Buffer | string, options?: { contentType?: string }): Promise<BlobInfo>;
  /** A stream of the object; throws BlobNotFoundError when absent. */
  get(key: string): Promise<Readable>;
  getBuffer(key: string): Promise<Buffer>;
  stat(key: string): Promise<BlobInfo | null>;
  delete(key: string): Promise<void>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Objects under a prefix with size and modification time, sorted by key. */
  listInfo(prefix: string): Promise<BlobInfo[]>;
  /** Names of the folders directly under `folder` (e.g. the job ids under `jobs/`), sorted. */
  listFolders(folder: string): Promise<string[]>;
  /** Deletes every object under `folder` (and the folder itself where folders exist). */
  deleteFolder(folder: string): Promise<{ files: number; bytes: number }>;
}

export class BlobNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`no blob at "${key}"`);
    this.name = 'BlobNotFoundError';
  }
}

export function assertValidKey(key: string): void {
  if (!key || key.length > 512 || key.startsWith('/') || key.split('/').some((p) => p === '' || p === '.' || p === '..') || /[\\\0]/.test(key)) {
    throw new Error(`invalid blob key "${key}"`);
  }
}
