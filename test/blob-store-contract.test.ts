import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { loadConfig } from '../src/config/env';
import { BlobNotFoundError, BlobStore, BlobStoreUnavailableError, createBlobStore } from '../src/storage';
import { FsBlobStore } from '../src/storage/fs-blob-store';
import { S3BlobStore } from '../src/storage/s3-blob-store';
import { PROJECT_ROOT } from '../src/start/provision-cli';
import { freePort } from './harness/ports';
import { closeStore, eachBlobStore, useTestMinio } from './harness/minio';

// One set of cases, run against the filesystem store and the S3 store on a real MinIO:
// what one store does, the other must do too.

async function text(stream: Readable): Promise<string> {
  return (await buffer(stream)).toString('utf8');
}
async function buffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** `total` bytes of deterministic noise in 64 KB chunks, produced as read (never held whole). */
function noise(total: number, seed: string): { stream: Readable; sha256: Promise<string> } {
  const hash = createHash('sha256');
  let sent = 0;
  let block = createHash('sha256').update(seed).digest();
  let done!: (h: string) => void;
  const sha256 = new Promise<string>((r) => (done = r));
  const stream = new Readable({
    read() {
      if (sent >= total) {
        done(hash.digest('hex'));
        this.push(null);
        return;
      }
      const n = Math.min(65_536, total - sent);
      const chunk = Buffer.alloc(n);
      for (let i = 0; i < n; i += 32) {
        block = createHash('sha256').update(block).digest();
        block.copy(chunk, i, 0, Math.min(32, n - i));
      }
      hash.update(chunk);
      sent += n;
      this.push(chunk);
    },
  });
  return { stream, sha256 };
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const c of stream) hash.update(c as Buffer);
  return hash.digest('hex');
}

const ODD_KEYS = [
  'jobs/odd/a file with spaces.txt',
  'jobs/odd/ünïcødé-文件.md',
  'jobs/odd/plus+sign.txt',
  'jobs/odd/percent%20and%.txt',
  'jobs/odd/emoji-😀.txt',
  "jobs/odd/quote's & (parens) #hash ?q=1.txt",
];

const minio = useTestMinio();

const stores = eachBlobStore(minio, 'dj-blobs-');

describe.each(stores)('%s blob store', (kind, make) => {
  let store: BlobStore;
  beforeEach(() => {
    store = make();
  });
  afterEach(() => closeStore(store));

  test('check() passes on a working store', async () => {
    await expect(store.check()).resolves.toBeUndefined();
  });

  test('put a string, a buffer and a stream; get, getBuffer and stat them back', async () => {
    expect(await store.put('jobs/a/one.txt', 'hello')).toEqual({ key: 'jobs/a/one.txt', bytes: 5, contentType: undefined });
    expect(await store.put('jobs/a/two.bin', Buffer.from([0, 1, 2, 255]), { contentType: 'application/x-thing' })).toMatchObject({
      bytes: 4,
      contentType: 'application/x-thing',
    });
    expect(await store.put('jobs/a/three.jsonl', Readable.from(['{"a":1}\n', '{"b":2}\n']))).toMatchObject({
      bytes: 16,
      contentType: 'application/x-ndjson',
    });

    expect(await text(await store.get('jobs/a/one.txt'))).toBe('hello');
    expect([...(await store.getBuffer('jobs/a/two.bin'))]).toEqual([0, 1, 2, 255]);
    expect(await text(await store.get('jobs/a/three.jsonl'))).toBe('{"a":1}\n{"b":2}\n');

    const before = Date.now() - 5_000;
    const two = await store.stat('jobs/a/two.bin');
    expect(two).toMatchObject({ key: 'jobs/a/two.bin', bytes: 4, contentType: 'application/x-thing' });
    expect(two!.modifiedAt!.getTime()).toBeGreaterThan(before);
    expect(await store.stat('jobs/a/three.jsonl')).toMatchObject({ bytes: 16, contentType: 'application/x-ndjson' });
  });

  test('an empty object is an object', async () => {
    await store.put('jobs/empty/zero.json', '');
    expect(await store.stat('jobs/empty/zero.json')).toMatchObject({ bytes: 0, contentType: 'application/json' });
    expect(await store.getBuffer('jobs/empty/zero.json')).toHaveLength(0);
    expect(await store.list('jobs/empty/')).toEqual(['jobs/empty/zero.json']);
  });

  test('a second put replaces the object and its content type', async () => {
    await store.put('jobs/r/data.json', '{"v":1}', { contentType: 'text/plain' });
    expect((await store.stat('jobs/r/data.json'))!.contentType).toBe('text/plain');
    await store.put('jobs/r/data.json', '{"v":22}');
    expect(await store.stat('jobs/r/data.json')).toMatchObject({ bytes: 8, contentType: 'application/json' });
    expect(await text(await store.get('jobs/r/data.json'))).toBe('{"v":22}');
  });

  test('range reads: from-to, open-ended, and an end past the last byte', async () => {
    await store.put('jobs/range/abc.txt', 'abcdefghijklmnopqrstuvwxyz');
    expect(await text(await store.get('jobs/range/abc.txt', { start: 0, end: 0 }))).toBe('a');
    expect(await text(await store.get('jobs/range/abc.txt', { start: 3, end: 6 }))).toBe('defg');
    expect(await text(await store.get('jobs/range/abc.txt', { start: 23 }))).toBe('xyz');
    expect(await text(await store.get('jobs/range/abc.txt', { start: 24, end: 1000 }))).toBe('yz');
  });

  test('list, listInfo and listFolders by prefix, sorted, nothing outside the prefix', async () => {
    for (const key of ['jobs/l1/b.md', 'jobs/l1/a.md', 'jobs/l1/pages/deep/c.h5p', 'jobs/l2/x.md', 'jobs/l10/y.md', 'other/z.md'])
      await store.put(key, key);
    expect(await store.list('jobs/l1/')).toEqual(['jobs/l1/a.md', 'jobs/l1/b.md', 'jobs/l1/pages/deep/c.h5p']);
    // A prefix is a string prefix, not only a folder.
    expect(await store.list('jobs/l1/pa')).toEqual(['jobs/l1/pages/deep/c.h5p']);
    expect(await store.list('jobs/l1')).toEqual(['jobs/l1/a.md', 'jobs/l1/b.md', 'jobs/l1/pages/deep/c.h5p', 'jobs/l10/y.md']);
    const info = await store.listInfo('jobs/l1/');
    expect(info.map((i) => [i.key, i.bytes])).toEqual([
      ['jobs/l1/a.md', 12],
      ['jobs/l1/b.md', 12],
      ['jobs/l1/pages/deep/c.h5p', 24],
    ]);
    for (const i of info) expect(Date.now() - i.modifiedAt!.getTime()).toBeLessThan(60_000);
    expect(await store.listFolders('jobs/')).toEqual(['l1', 'l10', 'l2']);
    expect(await store.listFolders('jobs/l1')).toEqual(['pages']);
    expect(await store.listFolders('nothing/here/')).toEqual([]);
    expect(await store.list('nothing/')).toEqual([]);
    expect(await store.listInfo('nothing/')).toEqual([]);
  });

  test('delete and deleteFolder remove exactly what they name and count it', async () => {
    await store.put('jobs/d1/a.txt', '12345', { contentType: 'text/x-custom' });
    await store.put('jobs/d1/sub/b.txt', '123');
    await store.put('jobs/d10/keep.txt', 'keep');
    await store.delete('jobs/d1/a.txt');
    await store.delete('jobs/d1/never-existed.txt');
    expect(await store.stat('jobs/d1/a.txt')).toBeNull();
    // A new object at a deleted key does not inherit the old one's content type.
    await store.put('jobs/d1/a.txt', '12345');
    expect((await store.stat('jobs/d1/a.txt'))!.contentType).toBeUndefined();

    expect(await store.deleteFolder('jobs/d1')).toEqual({ files: 2, bytes: 8 });
    expect(await store.list('jobs/d1/')).toEqual([]);
    expect(await store.listFolders('jobs/')).toEqual(['d10']);
    expect(await store.list('jobs/d10/')).toEqual(['jobs/d10/keep.txt']);
    expect(await store.deleteFolder('jobs/d1/')).toEqual({ files: 0, bytes: 0 });
    await expect(store.deleteFolder('')).rejects.toThrow(/whole blob store/);
    await expect(store.deleteFolder('/')).rejects.toThrow(/whole blob store/);
  });

  test('missing keys: get and getBuffer throw BlobNotFoundError, stat is null', async () => {
    await expect(store.get('jobs/missing/x.txt')).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.get('jobs/missing/x.txt', { start: 1 })).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.getBuffer('jobs/missing/x.txt')).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await store.stat('jobs/missing/x.txt')).toBeNull();
  });

  test('invalid keys are refused', async () => {
    for (const key of ['', '/abs', '../up', 'a/../b', 'a//b', 'a\\b', 'a/./b']) {
      await expect(store.put(key, 'x')).rejects.toThrow(/invalid blob key/);
      await expect(store.stat(key)).rejects.toThrow(/invalid blob key/);
    }
  });

  test('keys with spaces, unicode, +, %, quotes and ? round-trip through put, get, stat and list', async () => {
    for (const key of ODD_KEYS) await store.put(key, `content of ${key}`);
    for (const key of ODD_KEYS) {
      expect(await text(await store.get(key))).toBe(`content of ${key}`);
      expect((await store.stat(key))!.bytes).toBe(Buffer.byteLength(`content of ${key}`));
    }
    expect(await store.list('jobs/odd/')).toEqual([...ODD_KEYS].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(await store.deleteFolder('jobs/odd')).toMatchObject({ files: ODD_KEYS.length });
    for (const key of ODD_KEYS) expect(await store.stat(key)).toBeNull();
  });

  test('a 20 MB stream is stored without holding it whole and reads back byte for byte', async () => {
    const size = 20 * 1024 * 1024 + 123;
    const source = noise(size, kind);
    const info = await store.put('jobs/big/video.mp4', source.stream);
    expect(info).toMatchObject({ bytes: size, contentType: 'video/mp4' });
    expect(await sha256Of(await store.get('jobs/big/video.mp4'))).toBe(await source.sha256);
    // A range in the middle of the second part.
    const slice = await buffer(await store.get('jobs/big/video.mp4', { start: 9_000_000, end: 9_000_099 }));
    expect(slice).toHaveLength(100);
    expect(slice.equals((await store.getBuffer('jobs/big/video.mp4')).subarray(9_000_000, 9_000_100))).toBe(true);
    if (store instanceof S3BlobStore) {
      // An S3 multipart ETag ends in -<parts>: 8 MB parts for 20 MB make three.
      const head = await store.client.send(new HeadObjectCommand({ Bucket: minio().bucket, Key: store.objectKey('jobs/big/video.mp4') }));
      expect(head.ETag).toMatch(/-3"$/);
    }
  });

  test('a stream that fails midway leaves the previous object and no debris', async () => {
    await store.put('jobs/fail/data.bin', 'previous');
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(6 * 1024 * 1024, 7));
        this.destroy(new Error('source broke'));
      },
    });
    await expect(store.put('jobs/fail/data.bin', failing)).rejects.toThrow(/source broke/);
    expect(await text(await store.get('jobs/fail/data.bin'))).toBe('previous');
    expect(await store.list('jobs/fail/')).toEqual(['jobs/fail/data.bin']);
    if (store instanceof FsBlobStore) {
      expect(fs.readdirSync(path.join(store.location, 'jobs', 'fail'))).toEqual(['data.bin']);
    }
    if (store instanceof S3BlobStore) {
      const uploads = await store.client.send(
        new ListMultipartUploadsCommand({ Bucket: minio().bucket, Prefix: store.objectKey('jobs/fail/data.bin') }),
      );
      expect(uploads.Uploads ?? []).toEqual([]);
    }
  });

  test('a reader that stops early releases the object (destroy ends the stream)', async () => {
    await store.put('jobs/early/big.bin', Buffer.alloc(3 * 1024 * 1024, 1));
    const stream = await store.get('jobs/early/big.bin');
    const closed = new Promise((r) => stream.once('close', r));
    for await (const _chunk of stream) break;
    await closed;
    expect(stream.destroyed).toBe(true);
  });
});

describe('S3 specifics on MinIO', () => {
  test('a presigned URL serves the object with its name and type, and stops working when it expires', async () => {
    const store = createBlobStore(loadConfig(minio().s3Config())) as S3BlobStore;
    try {
      const key = 'jobs/p/ünïcødé report+1.md';
      await store.put(key, '# report');
      const url = await store.presignGet!(key, {
        expiresInSeconds: 2,
        filename: 'ünïcødé report+1.md',
        contentType: 'text/markdown; charset=utf-8',
      });
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('# report');
      expect(res.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
      expect(res.headers.get('content-disposition')).toBe(
        `attachment; filename="_n_c_d__report_1.md"; filename*=UTF-8''${encodeURIComponent('ünïcødé report+1.md')}`,
      );
      await new Promise((r) => setTimeout(r, 3_000));
      expect((await fetch(url)).status).toBe(403);
    } finally {
      store.close();
    }
  });

  test('BLOB_STORE=s3 without S3_BUCKET is a config error naming S3_BUCKET', () => {
    expect(() => loadConfig({ BLOB_STORE: 's3' })).toThrow(/S3_BUCKET: required when BLOB_STORE=s3/);
    expect(() => loadConfig({ BLOB_STORE: 's3', S3_BUCKET: 'Not_A_Bucket' })).toThrow(/S3_BUCKET: not an S3 bucket name/);
    expect(() => loadConfig({ S3_PRESIGN_DOWNLOADS: 'true' })).toThrow(/S3_PRESIGN_DOWNLOADS: needs BLOB_STORE=s3/);
    expect(() => loadConfig({ BLOB_STORE: 'gcs' })).toThrow(/BLOB_STORE/);
    const ok = loadConfig({ BLOB_STORE: 's3', S3_BUCKET: 'bk1', S3_ENDPOINT: 'http://127.0.0.1:9000' });
    expect(ok).toMatchObject({
      BLOB_STORE: 's3',
      S3_BUCKET: 'bk1',
      S3_PREFIX: '',
      S3_PRESIGN_DOWNLOADS: false,
      S3_PRESIGN_EXPIRY: 300_000,
    });
    expect(loadConfig({}).BLOB_STORE).toBe('fs');
  });

  describe('the startup check says what is wrong', () => {
    let saved: NodeJS.ProcessEnv;
    beforeEach(() => {
      saved = { ...process.env };
    });
    afterEach(() => {
      for (const k of [
        'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY',
        'AWS_PROFILE',
        'AWS_SHARED_CREDENTIALS_FILE',
        'AWS_CONFIG_FILE',
        'AWS_EC2_METADATA_DISABLED',
      ]) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    });
    const problem = async (overrides: Record<string, string>) => {
      const store = createBlobStore(loadConfig({ ...minio().s3Config(), ...overrides })) as S3BlobStore;
      try {
        await store.check();
        return 'no problem';
      } catch (e) {
        expect(e).toBeInstanceOf(BlobStoreUnavailableError);
        return (e as Error).message;
      } finally {
        store.close();
      }
    };

    test.each(['api', 'worker'])('the %s process exits at startup with the reason, before taking work', (name) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', `src/${name}/main.ts`], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          ...process.env,
          ...minio().s3Config(),
          S3_BUCKET: 'missing-bucket',
          DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'dj-main-')),
          TEMPORAL_ADDRESS: '127.0.0.1:1',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`Blob store unusable (s3://missing-bucket/`);
      expect(r.stderr).toMatch(/S3_BUCKET "missing-bucket" does not exist at http:\/\/127\.0\.0\.1:\d+: create it or fix S3_BUCKET/);
    });

    test('no such bucket', async () => {
      expect(await problem({ S3_BUCKET: 'no-such-bucket' })).toMatch(
        /S3_BUCKET "no-such-bucket" does not exist at http:\/\/127\.0\.0\.1:\d+/,
      );
    });
    test('nothing listening at the endpoint', async () => {
      const port = await freePort();
      expect(await problem({ S3_ENDPOINT: `http://127.0.0.1:${port}` })).toMatch(
        new RegExp(`cannot reach the S3 endpoint http://127.0.0.1:${port} \\(ECONNREFUSED\\): check S3_ENDPOINT`),
      );
    });
    test('an endpoint that is not an S3 server', async () => {
      const server = http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<html>nope</html>'));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const { port } = server.address() as { port: number };
        expect(await problem({ S3_ENDPOINT: `http://127.0.0.1:${port}` })).toMatch(
          /answered HTTP 404 without an S3 error: is S3_ENDPOINT an S3 server/,
        );
      } finally {
        server.close();
      }
    });
    test('unknown access key, wrong secret', async () => {
      process.env.AWS_ACCESS_KEY_ID = 'nobody-at-all';
      expect(await problem({})).toMatch(/does not know AWS_ACCESS_KEY_ID/);
      process.env.AWS_ACCESS_KEY_ID = saved.AWS_ACCESS_KEY_ID;
      process.env.AWS_SECRET_ACCESS_KEY = 'wrong-secret-wrong-secret';
      expect(await problem({})).toMatch(/AWS_SECRET_ACCESS_KEY is wrong/);
    });
    test('no credentials anywhere', async () => {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      delete process.env.AWS_PROFILE;
      process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(os.tmpdir(), `none-${randomBytes(4).toString('hex')}`);
      process.env.AWS_CONFIG_FILE = process.env.AWS_SHARED_CREDENTIALS_FILE;
      process.env.AWS_EC2_METADATA_DISABLED = 'true';
      expect(await problem({})).toMatch(/no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    });
  });
});
