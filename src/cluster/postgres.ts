import { spawn, spawnSync, SpawnSyncOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

// A throwaway PostgreSQL server: initdb into a directory, the postmaster as our own child
// process on a loopback port, stopped with a fast shutdown. As root it runs as the `postgres`
// user (PostgreSQL refuses to run as root).

export interface RunningPostgres {
  port: number;
  user: string;
  password: string;
  pid: number;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const INSTALL_HINT = [
  'PostgreSQL server binaries (initdb, postgres, pg_isready) were not found.',
  'Install them, e.g.:',
  '  Debian/Ubuntu:  sudo apt-get install -y postgresql',
  '  Fedora:         sudo dnf install -y postgresql-server',
  '  macOS:          brew install postgresql@16',
  'or set POSTGRES_BIN_DIR to the directory that holds them.',
].join('\n');

const REQUIRED = ['initdb', 'postgres', 'pg_isready'];
const hasAll = (dir: string) => REQUIRED.every((b) => fs.existsSync(path.join(dir, b)));

/** The bin directory of the newest PostgreSQL found (POSTGRES_BIN_DIR, /usr/lib/postgresql/N/bin, PATH). */
export function findPostgresBinDir(): string {
  const explicit = process.env.POSTGRES_BIN_DIR;
  if (explicit) {
    if (!hasAll(explicit)) throw new Error(`POSTGRES_BIN_DIR=${explicit} lacks one of ${REQUIRED.join(', ')}`);
    return explicit;
  }
  const debianRoot = '/usr/lib/postgresql';
  const versions = fs.existsSync(debianRoot) ? fs.readdirSync(debianRoot).filter((v) => /^\d+$/.test(v)) : [];
  for (const v of versions.sort((a, b) => Number(b) - Number(a))) {
    const dir = path.join(debianRoot, v, 'bin');
    if (hasAll(dir)) return dir;
  }
  const which = spawnSync('which', ['initdb'], { encoding: 'utf8' });
  const onPath = which.status === 0 ? path.dirname(which.stdout.trim()) : '';
  if (onPath && hasAll(onPath)) return onPath;
  throw new Error(INSTALL_HINT);
}

/** uid/gid to run PostgreSQL as: ourselves, or the `postgres` user when we are root. */
function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error(
      'running as root, and PostgreSQL refuses root: create a `postgres` user (the Debian package does) or run as another user',
    );
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function run(bin: string, args: string[], opts: SpawnSyncOptions): void {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 120_000, ...opts });
  if (r.status !== 0) throw new Error(`${path.basename(bin)} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr || r.stdout}`);
}

export async function startPostgres(o: { dir: string; port: number; binDir?: string }): Promise<RunningPostgres> {
  const binDir = o.binDir ?? findPostgresBinDir();
  const user = 'temporal';
  const password = randomBytes(12).toString('hex');
  const owner = runAs();
  const dataDir = path.join(o.dir, 'data');
  fs.mkdirSync(o.dir, { recursive: true });
  const pwFile = path.join(o.dir, 'pwfile');
  fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (owner.uid !== undefined) {
    fs.chownSync(o.dir, owner.uid, owner.gid!);
    fs.chownSync(pwFile, owner.uid, owner.gid!);
  }
  const env = { ...process.env, LC_ALL: 'C', HOME: o.dir };
  run(
    path.join(binDir, 'initdb'),
    ['-D', dataDir, '-U', user, `--pwfile=${pwFile}`, '--auth-host=scram-sha-256', '--auth-local=peer', '-E', 'UTF8', '--no-instructions'],
    { ...owner, env, cwd: o.dir },
  );
  fs.rmSync(pwFile);

  const settings = {
    listen_addresses: '127.0.0.1',
    port: String(o.port),
    unix_socket_directories: o.dir,
    max_connections: '300',
    // A throwaway cluster: a crash may lose the last commits, never corrupt them.
    synchronous_commit: 'off',
    logging_collector: 'off',
  };
  const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const log = fs.openSync(path.join(o.dir, 'postgres.log'), 'a');
  const child = spawn(path.join(binDir, 'postgres'), args, { ...owner, env, cwd: o.dir, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let dead = false;
  void exited.then(() => (dead = true));

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (dead) throw new Error(`postgres exited during startup; see ${path.join(o.dir, 'postgres.log')}`);
    const ready = spawnSync(path.join(binDir, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(o.port), '-q'], { timeout: 5_000 });
    if (ready.status === 0) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`postgres on :${o.port} not ready within 60 s; see ${path.join(o.dir, 'postgres.log')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    port: o.port,
    user,
    password,
    pid: child.pid!,
    exited,
    // SIGINT is PostgreSQL's fast shutdown: active sessions are ended, no waiting for clients.
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
