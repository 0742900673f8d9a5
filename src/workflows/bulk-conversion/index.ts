// The workflows this job's workers host.
export { bulkConversion } from './workflow';
