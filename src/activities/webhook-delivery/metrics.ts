import { Counter, Histogram } from 'prom-client';
import { METRIC_PREFIX } from '../../observability/metrics';
import type { JobMetricsHooks } from '../../worker/job-definition';
import type { WebhookDeliveryResult } from '../../workflows/webhook-delivery/contract';

// Deliveries by final outcome and how many attempts each took, from the delivery workflow's result.
export const webhookDeliveryMetrics: JobMetricsHooks = {
  onJobEnd(registry) {
    const deliveries = new Counter({
      name: `${METRIC_PREFIX}webhook_deliveries_total`,
      help: 'Webhook deliveries that ended, by outcome (delivered, failed)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    const attempts = new Histogram({
      name: `${METRIC_PREFIX}webhook_delivery_attempts`,
      help: 'Attempts a webhook delivery made before it ended, by outcome',
      labelNames: ['outcome'],
      buckets: [1, 2, 3, 4, 5, 6, 8, 10, 15, 20],
      registers: [registry],
    });
    return ({ result }) => {
      const r = result as WebhookDeliveryResult | undefined;
      if (!r?.state) return;
      deliveries.inc({ outcome: r.state });
      attempts.observe({ outcome: r.state }, r.attempts.length);
    };
  },
};
