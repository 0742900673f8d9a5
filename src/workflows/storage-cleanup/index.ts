// The workflows this job's workers host.
export { storageCleanup } from './workflow';
