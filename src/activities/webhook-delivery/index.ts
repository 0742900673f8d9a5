import { createWebhookDeliveryActivities } from './deliver';

// Activities of the `webhooks` task queue.
export const createWebhookActivities = createWebhookDeliveryActivities;
export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
