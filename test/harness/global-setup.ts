import { startDevServer, RunningDevServer } from '../../src/start/dev-server';
import { provisionTemporalCli } from '../../src/start/provision-cli';
import { buildRuntime } from '../../src/start/runtime-build';
import { freePort } from './ports';

// One dev server for the whole suite (or TEMPORAL_TEST_ADDRESS), and the build `npm start` runs
// (src/start/runtime-build.ts): its workflow bundle serves every in-process Worker, so no test
// file pays for bundling, and worker processes run its compiled worker, as deployments do.
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  if (!process.env.TEMPORAL_TEST_ADDRESS) {
    const cli = provisionTemporalCli((m) => process.stdout.write(`\n[harness] ${m}\n`));
    const server: RunningDevServer = await startDevServer(cli, { port: await freePort(), logLevel: 'error', stdio: 'ignore' });
    (globalThis as { __DEV_SERVER__?: RunningDevServer }).__DEV_SERVER__ = server;
    process.env.TEMPORAL_TEST_ADDRESS = server.address;
    process.env.TEMPORAL_CLI_PATH_RESOLVED = cli.path ?? '';
  }
  const runtime = await buildRuntime();
  process.env.WORKFLOW_BUNDLE_PATH = runtime.workflowBundlePath;
  process.env.TEST_RUNTIME_BUILD = runtime.dir;
  process.stdout.write(
    `[harness] Temporal at ${process.env.TEMPORAL_TEST_ADDRESS}; ${runtime.built ? 'compiled' : 'reused'} the build; setup took ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}
