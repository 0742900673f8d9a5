import path from 'node:path';
import type { AppConfig } from '../config/env';
import type { BlobStore } from './blob-store';
import { FsBlobStore } from './fs-blob-store';
import { S3BlobStore } from './s3-blob-store';

type StoreConfig = Pick<AppConfig, 'dataDir' | 'BLOB_STORE' | 'S3_BUCKET' | 'S3_PREFIX' | 'S3_ENDPOINT' | 'S3_REGION' | 'S3_FORCE_PATH_STYLE'>;

export function createBlobStore(config: StoreConfig): BlobStore {
  if (config.BLOB_STORE === 's3') {
    return new S3BlobStore({
      bucket: config.S3_BUCKET!,
      prefix: config.S3_PREFIX,
      endpoint: config.S3_ENDPOINT,
      // The AWS chain's own region variables apply when S3_REGION is unset; S3-compatible servers accept any.
      region: config.S3_REGION ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      forcePathStyle: config.S3_FORCE_PATH_STYLE ?? Boolean(config.S3_ENDPOINT),
    });
  }
  return new FsBlobStore(path.join(config.dataDir, 'blobs'));
}

export { checkBlobStore } from './check';
export * from './blob-store';
