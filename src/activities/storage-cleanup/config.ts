import { z } from 'zod';
import type { PlatformConfig } from '../../config/env';
import { cron, duration } from '../../config/schema';

export const storageCleanupEnv = z.object({
  /** When the storage-cleanup schedule runs (cron, UTC). */
  CLEANUP_SCHEDULE: cron('0 3 * * *'),
  /** Job files are deleted once the newest file of the job is older than this. */
  ARTIFACT_RETENTION: duration('30d').refine((ms) => ms >= 3_600_000, 'must be at least 1h'),
});

export type StorageCleanupConfig = PlatformConfig & z.output<typeof storageCleanupEnv>;
