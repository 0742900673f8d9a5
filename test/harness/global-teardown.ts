import type { RunningDevServer } from '../../src/start/dev-server';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __DEV_SERVER__?: RunningDevServer }).__DEV_SERVER__;
  if (server) await server.stop();
}
