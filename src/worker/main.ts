import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfigOrExit } from '../config/env';
import { ensureDevSecrets } from '../config/dev-secrets';
import { createLogger } from '../observability/logger';
import { checkBlobStore, createBlobStore } from '../storage';
import { prefixedQueue } from '../shared/task-queues';
import { connectClient, connectWorker } from '../temporal/connection';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { ensureMaintenanceSchedules } from '../temporal/schedules';
import { TASK_QUEUES } from '../shared/task-queues';
import { createWorkers, loadWorkflowBundle } from './workers';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ process: 'worker' }, config.LOG_LEVEL);
  if (!config.WEBHOOK_SECRET) {
    // Several hosts with their own generated secrets would sign inconsistently: production must set one.
    if (config.NODE_ENV === 'production') {
      console.error('Invalid configuration:\n  WEBHOOK_SECRET: required when NODE_ENV=production (whsec_<base64>, space-separated for rotation)');
      process.exit(1);
    }
    config.WEBHOOK_SECRET = [ensureDevSecrets(config.dataDir).webhookSecret];
  }

  Runtime.install({
    logger: new DefaultLogger(config.LOG_LEVEL === 'debug' ? 'DEBUG' : 'INFO', (entry) => {
      const level = entry.level === 'ERROR' ? 'error' : entry.level === 'WARN' ? 'warn' : entry.level === 'INFO' ? 'info' : 'debug';
      logger[level](entry.message, entry.meta);
    }),
    telemetryOptions: config.METRICS_BIND_ADDRESS ? { metrics: { prometheus: { bindAddress: config.METRICS_BIND_ADDRESS } } } : undefined,
    shutdownSignals: ['SIGINT', 'SIGTERM'],
  });

  try {
    const client = await connectClient(config);
    const result = await ensureSearchAttributes(client, config.TEMPORAL_NAMESPACE);
    if (result === 'added') logger.info('registered custom search attributes');
    await client.connection.close();
  } catch (e) {
    logger.warn('could not check custom search attributes (needs operator rights; register JobType, JobOwner, JobOutcome as Keyword)', { error: e });
  }
  if (config.WORKER_TASK_QUEUES.includes(TASK_QUEUES.maintenance)) {
    try {
      const client = await connectClient(config);
      for (const s of await ensureMaintenanceSchedules(client, config)) logger.info('maintenance schedule checked', { ...s });
      await client.connection.close();
    } catch (e) {
      logger.warn('could not create or update the maintenance schedules (run `npm run schedules` to retry)', { error: e });
    }
  }

  const store = createBlobStore(config);
  await checkBlobStore(store, logger);
  const connection = await connectWorker(config);
  const workflowBundle = await loadWorkflowBundle();
  const workers = await createWorkers({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    prefix: config.TASK_QUEUE_PREFIX,
    queues: config.WORKER_TASK_QUEUES,
    deps: { config, store, logger, now: () => new Date() },
    workflowBundle,
  });
  const queues = config.WORKER_TASK_QUEUES.map((q) => prefixedQueue(config.TASK_QUEUE_PREFIX, q));
  logger.info('worker ready', { taskQueues: queues, address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE });
  // SIGINT/SIGTERM (handled by the Runtime) stop polling; in-flight activities get WORKER_SHUTDOWN_GRACE.
  await Promise.all(workers.map((w) => w.run()));
  await connection.close();
  logger.info('worker stopped');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
