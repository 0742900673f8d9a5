import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TEMPORAL_DIR } from '../start/provision-cli';

// The Temporal server and its SQL schema tool, built from source with Go into
// .temporal/bin/server-<version>/ (first time only), the same server version the CLI's dev
// server embeds.

export const SERVER_VERSION = 'v1.29.1';
const BIN_DIR = path.join(TEMPORAL_DIR, 'bin', `server-${SERVER_VERSION}`);
const PACKAGES = { server: 'go.temporal.io/server/cmd/server', sql: 'go.temporal.io/server/cmd/tools/sql' } as const;

export interface ServerBinaries {
  server: string;
  sqlTool: string;
}

const runs = (bin: string) => fs.existsSync(bin) && spawnSync(bin, ['--help'], { timeout: 30_000 }).status === 0;

export function provisionServerBinaries(log: (msg: string) => void): ServerBinaries {
  const bins: ServerBinaries = { server: path.join(BIN_DIR, 'server'), sqlTool: path.join(BIN_DIR, 'sql') };
  const missing = (Object.keys(PACKAGES) as (keyof typeof PACKAGES)[]).filter((name) => !runs(path.join(BIN_DIR, name)));
  if (!missing.length) return bins;
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0) {
    throw new Error(
      [
        `The Temporal server ${SERVER_VERSION} is built from source and needs Go (1.24 or newer): https://go.dev/dl/`,
        `then:  GOBIN=${BIN_DIR} go install ${Object.values(PACKAGES)
          .map((p) => `${p}@${SERVER_VERSION}`)
          .join(' ')}`,
      ].join('\n'),
    );
  }
  log(
    `building ${missing.join(' and ')} ${SERVER_VERSION} with Go into ${path.relative(process.cwd(), BIN_DIR) || BIN_DIR} (first time only; several minutes on a cold Go cache)…`,
  );
  fs.mkdirSync(BIN_DIR, { recursive: true });
  execFileSync('go', ['install', ...missing.map((name) => `${PACKAGES[name]}@${SERVER_VERSION}`)], {
    env: { ...process.env, GOBIN: BIN_DIR },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (const bin of Object.values(bins)) if (!runs(bin)) throw new Error(`go install finished but ${bin} does not run`);
  return bins;
}

if (require.main === module) {
  try {
    const bins = provisionServerBinaries((m) => console.log(m));
    console.log(`Temporal server: ${bins.server}\nSQL tool: ${bins.sqlTool}`);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
