import type { Request, RequestHandler } from 'express';
import { Gauge, Histogram, Registry } from 'prom-client';
import { createMetricsRegistry, METRIC_PREFIX } from '../observability/metrics';
import { prefixedQueue } from '../shared/task-queues';
import { describeQueueStats, QueueStats } from '../temporal/queue-stats';
import { ALL_TASK_QUEUES } from '../worker/job-registry';
import type { ApiContext } from './context';

/** Scrapes closer together than this share one round of DescribeTaskQueue calls. */
const QUEUE_STATS_TTL_MS = 5_000;
const QUEUE_STATS_TIMEOUT_MS = 3_000;

export interface ApiMetrics {
  registry: Registry;
  /** First middleware: times every request, labelled by its route template. */
  measureRequests: RequestHandler;
  /** GET /metrics in the Prometheus text format. */
  serve: RequestHandler;
}

/** Escapes a route template into a regex matching the concrete path's tail (`:id` one segment, `*rest` any). */
function tailPattern(template: string): RegExp {
  const body = template
    .split(/(:\w+|\*\w+)/)
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.startsWith('*') ? '.+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(template === '/' ? '/?$' : `${body}$`);
}

const patterns = new Map<string, RegExp>();

/**
 * The route template a request matched, e.g. `/api/v1/jobs/:jobId/cancel`, so labels stay few
 * whatever ids users send. Express keeps the matched route on the request but restores
 * `baseUrl` when an error leaves the router, so the mount path is recovered from the URL.
 */
export function routeLabel(req: Request): string {
  const template = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof template !== 'string') return 'unmatched';
  const path = req.originalUrl.split('?')[0];
  let pattern = patterns.get(template);
  if (!pattern) patterns.set(template, (pattern = tailPattern(template)));
  const m = pattern.exec(path);
  if (!m) return template;
  // A router's own root ('/') is labelled by its mount path, without a trailing slash.
  return template === '/' ? path.slice(0, m.index) || '/' : `${path.slice(0, m.index)}${template}`;
}

export function createApiMetrics(ctx: ApiContext): ApiMetrics {
  const registry = createMetricsRegistry({ process: 'api' });
  const requests = new Histogram({
    name: `${METRIC_PREFIX}http_request_duration_seconds`,
    help: 'API request duration, by method, route template and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });

  const queues = ALL_TASK_QUEUES.map((q) => prefixedQueue(ctx.config.TASK_QUEUE_PREFIX, q));
  let cached: { at: number; stats: Promise<QueueStats[] | undefined> } | undefined;
  const queueStats = () => {
    if (!cached || Date.now() - cached.at > QUEUE_STATS_TTL_MS) {
      const all = Promise.all(queues.map((q) => describeQueueStats(ctx.client, ctx.config.TEMPORAL_NAMESPACE, q))).then((s) => s.flat());
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('DescribeTaskQueue timed out')), QUEUE_STATS_TIMEOUT_MS).unref(),
      );
      cached = {
        at: Date.now(),
        stats: Promise.race([all, timeout]).catch((e: Error) => {
          ctx.logger.warn('task-queue statistics unavailable', { error: e.message });
          return undefined;
        }),
      };
    }
    return cached.stats;
  };
  const queueGauge = (name: string, help: string, pick: (s: QueueStats) => number) =>
    new Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames: ['queue', 'kind'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const s of (await queueStats()) ?? []) this.set({ queue: s.taskQueue, kind: s.kind }, pick(s));
      },
    });
  queueGauge(
    'task_queue_backlog',
    'Tasks waiting for a worker, per task queue and kind (workflow, activity), from DescribeTaskQueue',
    (s) => s.backlog,
  );
  queueGauge('task_queue_backlog_age_seconds', 'Age of the oldest waiting task, per task queue and kind', (s) => s.backlogAgeSeconds);
  queueGauge('task_queue_add_rate', 'Tasks added per second (30 s average), per task queue and kind', (s) => s.addRate);
  queueGauge('task_queue_dispatch_rate', 'Tasks dispatched per second (30 s average), per task queue and kind', (s) => s.dispatchRate);
  new Gauge({
    name: `${METRIC_PREFIX}temporal_up`,
    help: '1 when the last task-queue statistics came from Temporal, 0 when Temporal did not answer',
    registers: [registry],
    async collect() {
      this.set((await queueStats()) ? 1 : 0);
    },
  });

  return {
    registry,
    measureRequests(req, res, next) {
      const end = requests.startTimer();
      res.once('finish', () => end({ method: req.method, route: routeLabel(req), status: String(res.statusCode) }));
      next();
    },
    async serve(_req, res) {
      res.set('Content-Type', registry.contentType);
      res.send(await registry.metrics());
    },
  };
}
