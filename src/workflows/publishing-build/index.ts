// The workflows this job's workers host.
export { publishingBuild } from './workflow';
