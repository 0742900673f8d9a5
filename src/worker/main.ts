import { DefaultLogger, LogLevel, Runtime } from '@temporalio/worker';
import { loadConfigOrExit } from '../config/env';
import { devSecretsUnlessProduction } from '../config/dev-secrets';
import { createLogger } from '../observability/logger';
import { createMetricsRegistry } from '../observability/metrics';
import { startMetricsServer } from '../observability/metrics-server';
import { freePort } from '../start/free-port';
import { checkBlobStore, createBlobStore } from '../storage';
import { prefixedQueue } from '../shared/task-queues';
import { connectClient, connectWorker } from '../temporal/connection';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { WorkerJobMetrics } from './job-metrics';
import { createWorkers, ensureJobSchedules, loadWorkflowBundle, resolveQueues } from './workers';
import { isWarmUpLog } from './workflow-warm-up';
import { withSmallThreadYoungGeneration } from './young-generation';

const RUNTIME_LOG_LEVELS: Partial<Record<LogLevel, 'error' | 'warn' | 'info'>> = { ERROR: 'error', WARN: 'warn', INFO: 'info' };

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ process: 'worker' }, config.LOG_LEVEL);
  if (!config.WEBHOOK_SECRET) {
    // Several hosts with their own generated secrets would sign inconsistently: production must set one.
    const { webhookSecret } = devSecretsUnlessProduction(config, 'WEBHOOK_SECRET', 'whsec_<base64>, space-separated for rotation');
    config.WEBHOOK_SECRET = [webhookSecret];
  }

  // Storage first: a worker that cannot write results must not take tasks.
  const store = createBlobStore(config);
  await checkBlobStore(store, logger);

  // The Temporal runtime's Prometheus exporter listens on loopback only; the worker's own
  // endpoint at METRICS_BIND_ADDRESS serves its job metrics followed by the runtime's.
  const metricsRegistry = createMetricsRegistry({ process: 'worker' });
  const runtimeMetricsAddress = config.METRICS_BIND_ADDRESS ? `127.0.0.1:${await freePort()}` : undefined;
  Runtime.install({
    logger: new DefaultLogger(config.LOG_LEVEL === 'debug' ? 'DEBUG' : 'INFO', (entry) => {
      const level = entry.level === 'INFO' && isWarmUpLog(entry.meta) ? 'debug' : (RUNTIME_LOG_LEVELS[entry.level] ?? 'debug');
      logger[level](entry.message, entry.meta);
    }),
    telemetryOptions: runtimeMetricsAddress ? { metrics: { prometheus: { bindAddress: runtimeMetricsAddress } } } : undefined,
    shutdownSignals: ['SIGINT', 'SIGTERM'],
  });

  let served: string[];
  try {
    served = resolveQueues(config.WORKER_TASK_QUEUES);
  } catch (e) {
    console.error(`Invalid configuration:\n  ${(e as Error).message}`);
    process.exit(1);
  }

  const client = await connectClient(config);
  try {
    const result = await ensureSearchAttributes(client, config.TEMPORAL_NAMESPACE);
    if (result === 'added') logger.info('registered custom search attributes');
  } catch (e) {
    logger.warn('could not check custom search attributes (needs operator rights; register JobType, JobOwner, JobOutcome as Keyword)', {
      error: e,
    });
  }
  try {
    for (const s of await ensureJobSchedules(client, config, served)) logger.info('schedule checked', { ...s });
  } catch (e) {
    logger.warn('could not create or update the schedules (run `npm run schedules` to retry)', { error: e });
  }
  await client.connection.close();

  const metricsServer = config.METRICS_BIND_ADDRESS
    ? await startMetricsServer({
        bindAddress: config.METRICS_BIND_ADDRESS,
        registry: metricsRegistry,
        upstreamUrl: `http://${runtimeMetricsAddress}/metrics`,
      })
    : undefined;
  if (metricsServer) logger.info('metrics listening', { url: metricsServer.url });

  const connection = await connectWorker(config);
  const workflowBundle = await loadWorkflowBundle();
  const workers = await withSmallThreadYoungGeneration(() =>
    createWorkers({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      prefix: config.TASK_QUEUE_PREFIX,
      queues: served,
      deps: { config, store, logger, now: () => new Date() },
      workflowBundle,
      metrics: new WorkerJobMetrics(metricsRegistry),
    }),
  );
  const queues = served.map((q) => prefixedQueue(config.TASK_QUEUE_PREFIX, q));
  logger.info('worker ready', { taskQueues: queues, address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE });
  // SIGINT/SIGTERM (handled by the Runtime) stop polling; in-flight activities get WORKER_SHUTDOWN_GRACE.
  await Promise.all(workers.map((w) => w.run()));
  await connection.close();
  await metricsServer?.close();
  logger.info('worker stopped');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
