import { randomUUID } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { assertValidKey, BlobInfo, BlobNotFoundError, BlobStore, BlobStoreUnavailableError, ByteRange, PresignOptions } from './blob-store';
import { attachmentDisposition, impliedContentType } from './content-types';
import { explainS3Failure } from './s3-errors';

export interface S3BlobStoreOptions {
  bucket: string;
  /** Folder inside the bucket every key lives under ("" for the bucket root). */
  prefix?: string;
  /** For S3-compatible servers (MinIO, R2); absent for AWS. */
  endpoint?: string;
  region: string;
  forcePathStyle?: boolean;
}

/** Bytes per multipart part; a streamed upload holds at most QUEUE_SIZE parts in memory. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;
/** DeleteObjects takes at most 1,000 keys; listings return at most 1,000 per page. */
const PAGE = 1000;

/**
 * S3 (or S3-compatible) blob store. Credentials come from the AWS default chain
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity, instance role).
 * Objects are replaced atomically by S3 itself; streams are uploaded in parts.
 */
export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(private readonly options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    const trimmed = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.prefix = trimmed ? `${trimmed}/` : '';
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      maxAttempts: 3,
      // requestTimeout is the socket's idle time: a slow big download still works, a dead peer does not hang.
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
    });
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}${this.options.endpoint ? ` at ${this.options.endpoint}` : ''}`;
  }

  private objectKey(key: string): string {
    assertValidKey(key);
    return this.prefix + key;
  }

  async put(key: string, body: Readable | Buffer | string, options: { contentType?: string } = {}): Promise<BlobInfo> {
    const params = { Bucket: this.bucket, Key: this.objectKey(key), ContentType: options.contentType ?? impliedContentType(key) };
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      const data = typeof body === 'string' ? Buffer.from(body) : body;
      await this.client.send(new PutObjectCommand({ ...params, Body: data, ContentLength: data.length }));
      return { key, bytes: data.length, contentType: params.ContentType };
    }
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    const feeding = pipeline(body, counter);
    // A failed upload stops reading: end the feed so neither side waits for the other.
    const upload = new Upload({ client: this.client, params: { ...params, Body: counter }, partSize: PART_SIZE, queueSize: QUEUE_SIZE });
    try {
      await Promise.all([upload.done(), feeding]);
    } catch (e) {
      counter.destroy();
      body.destroy();
      await feeding.catch(() => undefined);
      throw e;
    }
    return { key, bytes, contentType: params.ContentType };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), Range: range ? `bytes=${range.start}-${range.end ?? ''}` : undefined }),
      );
      return out.Body as Readable;
    } catch (e) {
      if (isNotFound(e)) throw new BlobNotFoundError(key);
      throw e;
    }
  }

  async getBuffer(key: string): Promise<Buffer> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (e) {
      if (isNotFound(e)) throw new BlobNotFoundError(key);
      throw e;
    }
  }

  async stat(key: string): Promise<BlobInfo | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return { key, bytes: out.ContentLength ?? 0, contentType: out.ContentType, modifiedAt: out.LastModified };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.listInfo(prefix)).map((b) => b.key);
  }

  async listInfo(prefix: string): Promise<BlobInfo[]> {
    const out: BlobInfo[] = [];
    for await (const page of this.pages(prefix)) {
      for (const o of page.Contents ?? []) out.push({ key: o.Key!.slice(this.prefix.length), bytes: o.Size ?? 0, modifiedAt: o.LastModified });
    }
    // S3 lists in UTF-8 byte order; sort by code unit like the fs store so callers see one order.
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async listFolders(folder: string): Promise<string[]> {
    const base = folder.endsWith('/') ? folder : `${folder}/`;
    const names: string[] = [];
    for await (const page of this.pages(base, '/')) {
      for (const p of page.CommonPrefixes ?? []) names.push(p.Prefix!.slice(this.prefix.length + base.length).replace(/\/$/, ''));
    }
    return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Deletes page by page (1,000 keys per request), so a folder of any size never sits in memory. */
  async deleteFolder(folder: string): Promise<{ files: number; bytes: number }> {
    const base = folder.replace(/\/+$/, '');
    if (!base) throw new Error('refusing to delete the whole blob store');
    let files = 0;
    let bytes = 0;
    for await (const page of this.pages(`${base}/`)) {
      const objects = page.Contents ?? [];
      if (!objects.length) continue;
      const out = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: objects.map((o) => ({ Key: o.Key! })), Quiet: true } }),
      );
      if (out.Errors?.length) {
        const first = out.Errors[0];
        throw new Error(`could not delete ${out.Errors.length} objects under ${folder} (first: ${first.Key}: ${first.Code} ${first.Message})`);
      }
      files += objects.length;
      bytes += objects.reduce((n, o) => n + (o.Size ?? 0), 0);
    }
    return { files, bytes };
  }

  async presignGet(key: string, options: PresignOptions): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.objectKey(key),
      ResponseContentType: options.contentType,
      ResponseContentDisposition: options.filename ? attachmentDisposition(options.filename) : undefined,
    });
    return getSignedUrl(this.client, command, { expiresIn: options.expiresInSeconds });
  }

  /** Lists, writes and deletes a probe object: proves the credentials, the endpoint, the bucket and write access. */
  async check(): Promise<void> {
    const signal = AbortSignal.timeout(20_000);
    const where = { bucket: this.bucket, endpoint: this.options.endpoint, region: this.options.region };
    try {
      await this.client.config.credentials();
    } catch (e) {
      throw new BlobStoreUnavailableError(explainS3Failure(e, where));
    }
    const probe = `${this.prefix}.check/${randomUUID()}`;
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, MaxKeys: 1 }), { abortSignal: signal });
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: probe, Body: 'ok' }), { abortSignal: signal });
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: probe }), { abortSignal: signal });
    } catch (e) {
      throw new BlobStoreUnavailableError(explainS3Failure(e, where));
    }
  }

  /** Releases the client's sockets. */
  close(): void {
    this.client.destroy();
  }

  private async *pages(prefix: string, delimiter?: string): AsyncGenerator<ListObjectsV2CommandOutput> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, Delimiter: delimiter, ContinuationToken: token, MaxKeys: PAGE }),
      );
      yield page;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string };
  // HeadObject answers a bare 404 ("NotFound"); GetObject names it.
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound';
}
