// Every workflow the workers host. Deterministic code only: this file is bundled into Temporal's sandbox.
export {};
export * from './webhook-delivery';
export * from './bulk-conversion';
export * from './video-generation';
export * from './video-slots';
export * from './storage-cleanup';
