import path from 'node:path';
import type { AppConfig } from '../config/env';
import type { BlobStore } from './blob-store';
import { FsBlobStore } from './fs-blob-store';

export function createBlobStore(config: Pick<AppConfig, 'dataDir'>): BlobStore {
  return new FsBlobStore(path.join(config.dataDir, 'blobs'));
}
export * from './blob-store';
