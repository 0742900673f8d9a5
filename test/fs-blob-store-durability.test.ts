import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BlobNotFoundError } from '../src/storage';
import { FsBlobStore } from '../src/storage/fs-blob-store';
import { PROJECT_ROOT } from '../src/start/provision-cli';

// The filesystem store after a crash or power loss: a key holds its old content or the whole new
// one. Checked on the real system calls (strace) a write makes, in the order it makes them.

const hasStrace = spawnSync('strace', ['-V']).status === 0;

interface Call {
  line: number;
  name: string;
  args: string;
}

/** fsync/rename calls on files under `root`, in order, from `strace -f -y`. */
function traceWrites(root: string): Call[] {
  const out = path.join(root, '..', `${path.basename(root)}.strace`);
  const r = spawnSync(
    'strace',
    [
      '-f',
      '-y',
      '-qq',
      '-o',
      out,
      '-e',
      'trace=fsync,fdatasync,rename,renameat,renameat2',
      process.execPath,
      '--import',
      'tsx',
      'test/fixtures/fs-blob-writes.ts',
      root,
    ],
    { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  if (r.status !== 0) throw new Error(`writer failed: ${r.stderr}`);
  return fs
    .readFileSync(out, 'utf8')
    .split('\n')
    .filter((l) => l.includes(root) && !l.includes('resumed>'))
    .map((l, line) => {
      // A call another thread interrupts is printed at its start as `name(args <unfinished ...>`.
      const m = /^\d+\s+(\w+)\((.*?)(?:\)\s+=.*| <unfinished \.\.\.>)$/.exec(l);
      return { line, name: m?.[1] ?? '?', args: m?.[2] ?? l };
    });
}

(hasStrace ? describe : describe.skip)('fs blob store writes, traced', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-durable-'));
  const dir = path.join(root, 'jobs', 'j');
  let calls: Call[];
  beforeAll(() => {
    calls = traceWrites(root);
  });

  const renameInto = (file: string) => {
    const call = calls.find((c) => c.name.startsWith('rename') && c.args.endsWith(`"${file}"`) && c.args.includes(`"${file}.`));
    if (!call) throw new Error(`no rename into ${file} in:\n${calls.map((c) => `${c.name}(${c.args})`).join('\n')}`);
    const tmp = /"([^"]+\.tmp)"/.exec(call.args)![1];
    return { call, tmp };
  };
  const fsyncOf = (target: string) => calls.filter((c) => (c.name === 'fsync' || c.name === 'fdatasync') && c.args.endsWith(`<${target}>`));

  test.each(['small.bin', 'big.json', 'chunk.jsonl'])('%s: the temp file is fsynced before its rename, the folder after it', (name) => {
    const file = path.join(dir, name);
    const { call, tmp } = renameInto(file);
    expect(fsyncOf(tmp).some((c) => c.line < call.line)).toBe(true);
    expect(fsyncOf(dir).some((c) => c.line > call.line)).toBe(true);
  });

  test('a burst of writes into one folder shares folder fsyncs, and each rename is covered by one that starts after it', () => {
    const burst = path.join(root, 'jobs', 'k');
    const renames = Array.from({ length: 30 }, (_, i) => renameInto(path.join(burst, `${i}.md`)).call);
    const folderSyncs = fsyncOf(burst);
    for (const rename of renames) expect(folderSyncs.some((c) => c.line > rename.line)).toBe(true);
    expect(folderSyncs.length).toBeLessThan(renames.length);
  });

  test('the content-type sidecar goes through the same fsync and rename', () => {
    const meta = path.join(dir, 'small.bin.meta.json');
    const { call, tmp } = renameInto(meta);
    expect(fsyncOf(tmp).some((c) => c.line < call.line)).toBe(true);
    expect(fsyncOf(dir).some((c) => c.line > call.line)).toBe(true);
    expect(JSON.parse(fs.readFileSync(meta, 'utf8'))).toEqual({ contentType: 'application/x-custom' });
  });
});

describe('fs blob store leftovers', () => {
  test('a half-written temp file from a crash is never read, listed or counted as the blob', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-crash-'));
    const store = new FsBlobStore(root);
    fs.mkdirSync(path.join(root, 'jobs', 'c', 'chunks'), { recursive: true });
    // What a power loss mid-write leaves: a partial temp file, no blob.
    fs.writeFileSync(path.join(root, 'jobs', 'c', 'chunks', '000001.results.jsonl.3f1c.tmp'), '{"url":"https://a.example","sta');
    await expect(store.get('jobs/c/chunks/000001.results.jsonl')).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await store.stat('jobs/c/chunks/000001.results.jsonl')).toBeNull();
    expect(await store.list('jobs/c/')).toEqual([]);
    expect(await store.listInfo('jobs/c/')).toEqual([]);
    // The job's folder still goes when cleanup deletes it, debris included.
    expect(await store.deleteFolder('jobs/c')).toEqual({ files: 0, bytes: 0 });
    expect(fs.existsSync(path.join(root, 'jobs', 'c'))).toBe(false);
  });

  test('the content-type sidecar is replaced, dropped when no longer needed, and deleted with its file', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-meta-'));
    const store = new FsBlobStore(root);
    const sidecar = path.join(root, 'jobs', 'm', 'page.json.meta.json');
    await store.put('jobs/m/page.json', '{}', { contentType: 'text/plain' });
    expect(fs.existsSync(sidecar)).toBe(true);
    await store.put('jobs/m/page.json', '{"a":1}', { contentType: 'application/json' });
    expect(fs.existsSync(sidecar)).toBe(false);
    expect((await store.stat('jobs/m/page.json'))!.contentType).toBe('application/json');
    await store.put('jobs/m/page.json', '{}', { contentType: 'text/csv' });
    await store.delete('jobs/m/page.json');
    expect(fs.readdirSync(path.dirname(sidecar))).toEqual([]);
  });

  test('keys that would collide with sidecars are refused', async () => {
    const store = new FsBlobStore(fs.mkdtempSync(path.join(os.tmpdir(), 'dj-names-')));
    await expect(store.put('jobs/x/a.meta.json', '{}')).rejects.toThrow(/reserved/);
    await expect(store.put('jobs/x/a.tmp', '{}')).rejects.toThrow(/reserved/);
  });

  test('a read-only blob folder fails the startup check with the folder named', async () => {
    if (process.getuid?.() === 0) {
      // root writes anywhere: use a path under a regular file instead.
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dj-ro-')), 'file');
      fs.writeFileSync(file, '');
      await expect(new FsBlobStore(path.join(file, 'blobs')).check()).rejects.toThrow(
        new RegExp(`blob folder ${file}/blobs \\(under DATA_DIR\\) is not writable: ENOTDIR`),
      );
      return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-ro-'));
    fs.chmodSync(dir, 0o500);
    await expect(new FsBlobStore(path.join(dir, 'blobs')).check()).rejects.toThrow(/is not writable: EACCES/);
  });
});
