// The workflows this job's workers host.
export { webhookDelivery } from './workflow';
