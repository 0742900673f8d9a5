import { loadConfigOrExit } from '../config/env';
import { DEV_OWNER, devSecretsUnlessProduction } from '../config/dev-secrets';
import { createLogger } from '../observability/logger';
import { checkBlobStore, createBlobStore } from '../storage';
import { connectClient } from '../temporal/connection';
import { createApp } from './app';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ process: 'api' }, config.LOG_LEVEL);
  if (!config.API_KEYS) {
    const { apiKey } = devSecretsUnlessProduction(config, 'API_KEYS', 'owner:role:key, comma-separated');
    config.API_KEYS = [{ owner: DEV_OWNER, role: 'admin', key: apiKey }];
    logger.warn('API_KEYS is not set: using the local admin key stored in the data folder', { dataDir: config.dataDir });
  }
  const store = createBlobStore(config);
  await checkBlobStore(store, logger);
  const client = await connectClient(config);
  const app = createApp({ config, client, store, logger });
  const server = app.listen(config.PORT, () => logger.info('api listening', { url: config.publicUrl, port: config.PORT }));
  server.requestTimeout = 120_000;

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('api stopping', { signal });
    const force = setTimeout(() => process.exit(1), 10_000).unref();
    server.close(async () => {
      await client.connection.close().catch(() => undefined);
      clearTimeout(force);
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
