import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { onPath, TEMPORAL_DIR } from './provision-cli';

// Finds or builds MinIO, the S3 server the tests and `npm run cluster -- --with-storage` run:
// MINIO_PATH if set, else the pinned build cached in .temporal/bin, else `go install` of it.

/** `go list -m -versions` shows no tags for MinIO: pin a pseudo-version. */
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';
const MINIO_MODULE = 'github.com/minio/minio';
const BIN_DIR = path.join(TEMPORAL_DIR, 'bin');
const CACHED_BIN = path.join(BIN_DIR, process.platform === 'win32' ? 'minio.exe' : 'minio');
/** Records which version the cached binary was built from, so changing the pin rebuilds it. */
const STAMP = `${CACHED_BIN}.version`;

function works(bin: string): boolean {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 && /minio version/i.test(r.stdout);
}

const cachedIsCurrent = () => fs.existsSync(CACHED_BIN) && fs.existsSync(STAMP) && fs.readFileSync(STAMP, 'utf8').trim() === MINIO_VERSION && works(CACHED_BIN);

/** The MinIO binary to run; builds the pinned version with Go the first time (several minutes). */
export async function provisionMinio(log: (msg: string) => void = (m) => console.log(m)): Promise<string> {
  const explicit = process.env.MINIO_PATH;
  if (explicit) {
    if (!works(explicit)) throw new Error(`MINIO_PATH=${explicit} is not a working minio binary`);
    return explicit;
  }
  if (cachedIsCurrent()) return CACHED_BIN;

  const go = onPath('go');
  if (!go) {
    throw new Error(
      [
        'MinIO is needed (S3 storage tests, `npm run cluster -- --with-storage`) and Go is not installed to build it.',
        `Install Go (https://go.dev/dl/), then: npm run storage:provision`,
        'or set MINIO_PATH to a minio binary.',
      ].join('\n'),
    );
  }
  log(`Building MinIO ${MINIO_VERSION} with Go into .temporal/bin (first time only; takes several minutes)…`);
  fs.mkdirSync(BIN_DIR, { recursive: true });
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(go, ['install', `${MINIO_MODULE}@${MINIO_VERSION}`], {
      env: { ...process.env, GOBIN: BIN_DIR },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`go install ${MINIO_MODULE}@${MINIO_VERSION} failed (${signal ?? `exit ${code}`})`))));
  });
  if (!works(CACHED_BIN)) throw new Error('go install finished but .temporal/bin/minio does not run');
  fs.writeFileSync(STAMP, `${MINIO_VERSION}\n`);
  log(`MinIO built in ${Math.round((Date.now() - started) / 1000)} s: ${CACHED_BIN}`);
  return CACHED_BIN;
}

if (require.main === module) {
  provisionMinio()
    .then((bin) => console.log(`MinIO: ${bin}`))
    .catch((e: Error) => {
      console.error(e.message);
      process.exit(1);
    });
}
