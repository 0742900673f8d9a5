import { collectDefaultMetrics, Registry } from 'prom-client';

// Prometheus basics shared by the API and the worker: one registry per process (or per test
// app), Node's default process metrics in it, and our names under one prefix.

export const METRIC_PREFIX = 'durable_jobs_';

/** Job durations run from seconds (a small conversion) to days (a store review). */
export const JOB_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 12 * 3600, 24 * 3600, 7 * 24 * 3600];

export function createMetricsRegistry(labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}
