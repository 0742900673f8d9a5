// The workflows this job's workers host.
export { jobOutcomesSweep } from './workflow';
