import type { JobWorker } from '../../worker/job-definition';
import { WEBHOOK_DELIVERY_QUEUE } from '../../workflows/webhook-delivery/contract';
import { createWebhookDeliveryActivities } from './deliver';
import { webhookDeliveryMetrics } from './metrics';

export type WebhookActivities = ReturnType<typeof createWebhookDeliveryActivities>;

export const webhookDeliveryWorker: JobWorker = {
  metrics: webhookDeliveryMetrics,
  queues: [
    {
      name: WEBHOOK_DELIVERY_QUEUE,
      activities: createWebhookDeliveryActivities,
      options: () => ({ maxConcurrentActivityTaskExecutions: 100 }),
    },
  ],
};
