import type { Readable } from 'node:stream';

// Artifacts, manifests and results live here and travel through Temporal by key only.

export interface BlobInfo {
  key: string;
  bytes: number;
  contentType?: string;
  /** When the object was last written (stat and listInfo fill it in). */
  modifiedAt?: Date;
}

/** Bytes `start` through `end`, both inclusive (as in an HTTP Range header); no `end` reads to the last byte. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface PresignOptions {
  expiresInSeconds: number;
  /** Served as `Content-Disposition: attachment; filename=…`. */
  filename?: string;
  contentType?: string;
}

export interface BlobStore {
  /** Where blobs live, for logs and startup messages (no credentials). */
  readonly location: string;
  /** Streams `body` to `key`, replacing any previous object atomically. */
  put(key: string, body: Readable | Buffer | string, options?: { contentType?: string }): Promise<BlobInfo>;
  /** A stream of the object, or of `range` of it; throws BlobNotFoundError when absent. */
  get(key: string, range?: ByteRange): Promise<Readable>;
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
  /**
   * Stores on a local filesystem: where another thread may write `key` itself with
   * `writeBlobFileSync` (atomic and fsynced), sparing this event loop the file calls. Undefined
   * when the object needs more than the file (e.g. a content type its extension does not imply).
   */
  localFile?(key: string, options?: { contentType?: string }): Promise<LocalBlobFile | undefined>;
  /** A short-lived URL that serves the object without us, for stores that have one. */
  presignGet?(key: string, options: PresignOptions): Promise<string>;
  /** Proves the store is reachable and writable; throws BlobStoreUnavailableError saying what is wrong. */
  check(): Promise<void>;
}

export interface LocalBlobFile {
  /** Absolute path to write; its folder exists. */
  file: string;
  /**
   * After the write: makes its rename durable (a folder fsync, shared by the writes of the next
   * few ms, so callers should not hold other work back waiting on it).
   */
  commit(bytes: number): Promise<BlobInfo>;
}

export class BlobNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`no blob at "${key}"`);
    this.name = 'BlobNotFoundError';
  }
}

/** The store cannot be used at all (missing bucket, no credentials, unreachable endpoint, read-only folder). */
export class BlobStoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlobStoreUnavailableError';
  }
}

/** A key no store accepts (empty, too long, `..` segments, backslashes…). */
export class InvalidBlobKeyError extends Error {
  constructor(
    readonly key: string,
    reason = '',
  ) {
    super(`invalid blob key "${key}"${reason ? `: ${reason}` : ''}`);
    this.name = 'InvalidBlobKeyError';
  }
}

export function assertValidKey(key: string): void {
  if (
    !key ||
    key.length > 512 ||
    key.startsWith('/') ||
    key.split('/').some((p) => p === '' || p === '.' || p === '..') ||
    /[\\\0]/.test(key)
  ) {
    throw new InvalidBlobKeyError(key);
  }
}
