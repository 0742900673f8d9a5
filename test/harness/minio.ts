import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/env';
import { RunningMinio, startMinio } from '../../src/start/minio';
import { BlobStore, createBlobStore } from '../../src/storage';
import { FsBlobStore } from '../../src/storage/fs-blob-store';
import { S3BlobStore } from '../../src/storage/s3-blob-store';

// A MinIO of the test file's own (temp data dir, free port, one bucket). Test files that need S3
// start it in beforeAll: it is not part of the global setup, so suites without S3 never pay for it.

export interface TestMinio extends RunningMinio {
  /** testConfig overrides for an S3 blob store in this MinIO, under a prefix of its own unless one is given. */
  s3Config(prefix?: string): Record<string, string>;
}

export async function startTestMinio(): Promise<TestMinio> {
  const minio = await startMinio({ log: (m) => process.stdout.write(`[harness] ${m}\n`) });
  // The AWS default chain reads credentials from the environment (jest gives each test file its own copy).
  process.env.AWS_ACCESS_KEY_ID = minio.env.AWS_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = minio.env.AWS_SECRET_ACCESS_KEY;
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...s3 } = minio.env;
  return {
    ...minio,
    s3Config: (prefix = `t-${randomBytes(4).toString('hex')}`) => ({ ...s3, S3_PREFIX: prefix }),
  };
}

/** The test file's MinIO, started before its first test and stopped after its last. */
export function useTestMinio(): () => TestMinio {
  let minio: TestMinio | undefined;
  beforeAll(async () => {
    minio = await startTestMinio();
  }, 15 * 60_000);
  afterAll(async () => {
    await minio?.stop();
  });
  return () => {
    if (!minio) throw new Error('MinIO is not running (used outside a test?)');
    return minio;
  };
}

/**
 * Both blob stores for `describe.each`: the filesystem store in a fresh temp folder (named with
 * `tmpPrefix`) and the S3 store in the file's MinIO (started in beforeAll, hence the getter).
 * Release an S3 store's client with `closeStore` after each test.
 */
export function eachBlobStore(minio: () => TestMinio, tmpPrefix: string): [string, () => BlobStore][] {
  return [
    ['fs', () => new FsBlobStore(fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix)))],
    ['s3', () => createBlobStore(loadConfig(minio().s3Config()))],
  ];
}

export function closeStore(store: BlobStore | undefined): void {
  if (store instanceof S3BlobStore) store.close();
}
