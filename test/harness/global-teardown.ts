import fs from 'node:fs';
import type { RunningDevServer } from '../../src/start/dev-server';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __DEV_SERVER__?: RunningDevServer }).__DEV_SERVER__;
  if (server) await server.stop();
  if (process.env.WORKFLOW_BUNDLE_PATH) fs.rmSync(process.env.WORKFLOW_BUNDLE_PATH, { force: true });
}
