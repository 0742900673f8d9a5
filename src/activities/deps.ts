import type { AppConfig } from '../config/env';
import type { Logger } from '../observability/logger';
import type { BlobStore } from '../storage/blob-store';

/** Everything activities touch in the outside world, injected so tests can swap any part. */
export interface ActivityDeps {
  config: AppConfig;
  store: BlobStore;
  logger: Logger;
  now: () => Date;
}
