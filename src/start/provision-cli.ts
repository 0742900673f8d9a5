import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// Finds or builds the Temporal CLI (dev server + Web UI in one binary), in the order
// the README documents, and remembers which route worked.

export const CLI_VERSION = 'v1.5.1';
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const TEMPORAL_DIR = path.join(PROJECT_ROOT, '.temporal');
const CACHED_BIN = path.join(TEMPORAL_DIR, 'bin', process.platform === 'win32' ? 'temporal.exe' : 'temporal');

export type CliRoute = 'TEMPORAL_CLI_PATH' | 'PATH' | 'cached-build' | 'go-install' | 'sdk-download';

export interface ProvisionedCli {
  route: CliRoute;
  /** Absent for `sdk-download`: the SDK's test server downloads and runs the binary itself. */
  path?: string;
}

function works(bin: string): boolean {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 && /temporal version/i.test(r.stdout);
}

export function onPath(name: string): string | undefined {
  const r = spawnSync(process.platform === 'win32' ? 'where' : 'which', [name], { encoding: 'utf8' });
  const found = r.status === 0 ? r.stdout.split('\n')[0].trim() : '';
  return found || undefined;
}

export function provisionTemporalCli(log: (msg: string) => void = (m) => console.log(m)): ProvisionedCli {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (!works(explicit)) throw new Error(`TEMPORAL_CLI_PATH=${explicit} is not a working temporal binary`);
    return remember({ route: 'TEMPORAL_CLI_PATH', path: explicit }, log);
  }
  const fromPath = onPath('temporal');
  if (fromPath && works(fromPath)) return remember({ route: 'PATH', path: fromPath }, log);
  if (fs.existsSync(CACHED_BIN) && works(CACHED_BIN)) return remember({ route: 'cached-build', path: CACHED_BIN }, log);

  const go = onPath('go');
  if (go) {
    log(`Building the Temporal CLI ${CLI_VERSION} with Go into .temporal/bin (first time only; takes a few minutes)…`);
    fs.mkdirSync(path.dirname(CACHED_BIN), { recursive: true });
    execFileSync(go, ['install', `github.com/temporalio/cli/cmd/temporal@${CLI_VERSION}`], {
      env: { ...process.env, GOBIN: path.dirname(CACHED_BIN) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (!works(CACHED_BIN)) throw new Error('go install finished but .temporal/bin/temporal does not run');
    return remember({ route: 'go-install', path: CACHED_BIN }, log);
  }
  if (process.env.TEMPORAL_ALLOW_DOWNLOAD !== 'false') {
    return remember({ route: 'sdk-download' }, log);
  }
  throw new Error(
    [
      'No Temporal CLI found. Install one of:',
      '  brew install temporal',
      '  curl -sSf https://temporal.download/cli.sh | sh',
      `  GOBIN=$PWD/.temporal/bin go install github.com/temporalio/cli/cmd/temporal@${CLI_VERSION}`,
      'or set TEMPORAL_CLI_PATH to the binary, or TEMPORAL_ADDRESS to a running server.',
    ].join('\n'),
  );
}

function remember(cli: ProvisionedCli, log: (msg: string) => void): ProvisionedCli {
  const where = cli.path ? ` (${cli.path})` : ' (downloaded and cached by @temporalio/testing)';
  log(`Temporal CLI: ${cli.route}${where}`);
  try {
    fs.mkdirSync(TEMPORAL_DIR, { recursive: true });
    fs.writeFileSync(path.join(TEMPORAL_DIR, 'cli-route.json'), JSON.stringify({ ...cli, at: new Date().toISOString() }, null, 2));
  } catch {
    /* read-only checkout: nothing to remember */
  }
  return cli;
}

if (require.main === module) {
  try {
    provisionTemporalCli();
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
