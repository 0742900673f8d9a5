import type { Logger } from '../observability/logger';
import { BlobStore, BlobStoreUnavailableError } from './blob-store';

/**
 * For process entry points: proves the blob store works before taking traffic or tasks, and
 * exits with one line saying what is wrong (no bucket, no credentials, wrong endpoint…).
 */
export async function checkBlobStore(store: BlobStore, logger: Logger): Promise<void> {
  try {
    await store.check();
    logger.info('blob store ready', { location: store.location });
  } catch (e) {
    const message = e instanceof BlobStoreUnavailableError ? e.message : `blob store check failed: ${(e as Error).message}`;
    console.error(`Blob store unusable (${store.location}):\n  ${message}`);
    process.exit(1);
  }
}
