import fs from 'node:fs';
import path from 'node:path';
import { startDevServer, RunningDevServer } from '../../src/start/dev-server';
import { provisionTemporalCli, TEMPORAL_DIR } from '../../src/start/provision-cli';
import { bundleWorkflows } from '../../src/worker/workers';
import { freePort } from './ports';

// One dev server for the whole suite (or TEMPORAL_TEST_ADDRESS), and one workflow bundle
// shared by every test worker so no test file pays for bundling.
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  if (!process.env.TEMPORAL_TEST_ADDRESS) {
    const cli = provisionTemporalCli((m) => process.stdout.write(`\n[harness] ${m}\n`));
    const server: RunningDevServer = await startDevServer(cli, { port: await freePort(), logLevel: 'error', stdio: 'ignore' });
    (globalThis as { __DEV_SERVER__?: RunningDevServer }).__DEV_SERVER__ = server;
    process.env.TEMPORAL_TEST_ADDRESS = server.address;
    process.env.TEMPORAL_CLI_PATH_RESOLVED = cli.path ?? '';
  }
  const bundleDir = path.join(TEMPORAL_DIR, 'test-bundles');
  fs.mkdirSync(bundleDir, { recursive: true });
  const bundlePath = path.join(bundleDir, `workflows-${process.pid}.js`);
  fs.writeFileSync(bundlePath, await bundleWorkflows());
  process.env.WORKFLOW_BUNDLE_PATH = bundlePath;
  process.stdout.write(
    `[harness] Temporal at ${process.env.TEMPORAL_TEST_ADDRESS}; workflows bundled; setup took ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}
