import type { Client } from '@temporalio/client';
import type { AppConfig } from '../config/env';
import type { Logger } from '../observability/logger';
import type { BlobStore } from '../storage/blob-store';

/** What route handlers need; built once per process and injected into the app. */
export interface ApiContext {
  config: AppConfig;
  client: Client;
  store: BlobStore;
  logger: Logger;
}
