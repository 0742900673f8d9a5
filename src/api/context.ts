import type { Client } from '@temporalio/client';
import type { PlatformConfig } from '../config/env';
import type { Logger } from '../observability/logger';
import type { BlobStore } from '../storage/blob-store';

/** What route handlers need; built once per process and injected into the app. `Config` narrows to what a job type reads. */
export interface ApiContext<Config extends PlatformConfig = PlatformConfig> {
  config: Config;
  client: Client;
  store: BlobStore;
  logger: Logger;
}
