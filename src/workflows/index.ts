// Every workflow the workers host. Deterministic code only: this file is bundled into Temporal's sandbox.
export {};
export * from './webhook-delivery/workflow';
export * from './bulk-conversion/workflow';
export * from './video-generation/workflow';
export * from './video-generation/video-slots';
export * from './storage-cleanup/workflow';
export * from './publishing-build';
