// The workflows this job's workers host.
export { videoGeneration } from './workflow';
export { videoSlots } from './video-slots';
