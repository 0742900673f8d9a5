import type { Client } from '@temporalio/client';
import type { Express } from 'express';
import { createApp } from '../../src/api/app';
import type { AppConfig } from '../../src/config/env';
import { createLogger } from '../../src/observability/logger';
import { createBlobStore } from '../../src/storage';

export function testApp(config: AppConfig, client: Client): Express {
  return createApp({ config, client, store: createBlobStore(config), logger: createLogger({ test: 'api' }, 'error') });
}
