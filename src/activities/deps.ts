import type { PlatformConfig } from '../config/env';
import type { Logger } from '../observability/logger';
import type { BlobStore } from '../storage/blob-store';

/**
 * Everything activities touch in the outside world, injected so tests can swap any part.
 * `Config` is the platform's settings plus the job type's own (see its config.ts).
 */
export interface ActivityDeps<Config extends PlatformConfig = PlatformConfig> {
  config: Config;
  store: BlobStore;
  logger: Logger;
  now: () => Date;
  /**
   * Registers what to release once the Workers running these activities have stopped (threads,
   * pools); set by createWorkers. Absent where nothing stops them (a test calling activities directly).
   */
  onWorkersStopped?(release: () => Promise<void>): void;
  /**
   * Registers work to finish before the Workers poll (e.g. running a job's hot path once so its
   * code is compiled); set by createWorkers, which logs a failure and polls anyway.
   */
  beforePolling?(warmUp: () => Promise<void>): void;
}
