import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { Client } from '@temporalio/client';
import type { AppConfig } from '../src/config/env';
import { jobFileKey } from '../src/shared/urls';
import { BlobStore, createBlobStore } from '../src/storage';
import { S3BlobStore } from '../src/storage/s3-blob-store';
import { auth, startJobDirect, waitForJobEnd } from './fixtures/bulk-jobs';
import { startTestSite, TestSite } from './fixtures/test-site';
import { testApp } from './harness/api';
import { startTestMinio, TestMinio } from './harness/minio';
import { KEYS, RunningWorkers, startWorkers, testClient, testConfig, waitFor } from './harness/temporal';

// Job file downloads through the real API on a real port: streamed from the fs store and from
// S3 (MinIO), byte ranges, 302 to a presigned URL, ownership before anything else, a second
// API replica with its own DATA_DIR serving the same files, and aborted downloads that let go
// of the file at once.

const BIG = 20 * 1024 * 1024 + 7;
const bigBody = () => {
  let sent = 0;
  return new Readable({
    read() {
      const n = Math.min(1 << 20, BIG - sent);
      if (n <= 0) return void this.push(null);
      this.push(Buffer.alloc(n, sent / (1 << 20)));
      sent += n;
    },
  });
};
const BIG_SHA = (() => {
  const h = createHash('sha256');
  for (let sent = 0; sent < BIG; sent += 1 << 20) h.update(Buffer.alloc(Math.min(1 << 20, BIG - sent), sent / (1 << 20)));
  return h.digest('hex');
})();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Api {
  url: string;
  config: AppConfig;
  close(): Promise<void>;
}

async function serve(config: AppConfig, client: Client): Promise<Api> {
  const server = http.createServer(testApp(config, client));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    config,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const get = (api: Api, jobId: string, file: string, key: string = KEYS.alice, headers: Record<string, string> = {}) =>
  fetch(`${api.url}/api/v1/jobs/${jobId}/files/${file.split('/').map(encodeURIComponent).join('/')}`, {
    headers: { ...auth(key), ...headers },
    redirect: 'manual',
  });

let client: Client;
let minio: TestMinio;
const apis: Api[] = [];
const jobIds: string[] = [];
const stores: BlobStore[] = [];

beforeAll(async () => {
  client = await testClient();
  minio = await startTestMinio();
}, 15 * 60_000);
afterAll(async () => {
  for (const id of jobIds)
    await client.workflow
      .getHandle(id)
      .terminate('test over')
      .catch(() => undefined);
  for (const api of apis) await api.close();
  for (const s of stores) if (s instanceof S3BlobStore) s.close();
  await minio?.stop();
  await client?.connection.close();
});

/** A job of alice's (its workflow never runs: nobody polls its queue) with files put straight into the store. */
async function jobWithFiles(config: AppConfig, files: Record<string, () => Readable | string>): Promise<string> {
  const jobId = `dl-${Math.random().toString(36).slice(2, 10)}`;
  await startJobDirect(client, config, jobId, ['http://127.0.0.1:1/never'], { owner: 'alice' });
  jobIds.push(jobId);
  const store = createBlobStore(config);
  stores.push(store);
  for (const [file, body] of Object.entries(files)) await store.put(jobFileKey(jobId, file), body());
  return jobId;
}

describe.each(['fs', 's3'] as const)('downloads from the %s store', (kind) => {
  let api: Api;
  let jobId: string;
  beforeAll(async () => {
    api = await serve(testConfig(kind === 's3' ? minio.s3Config() : {}), client);
    apis.push(api);
    jobId = await jobWithFiles(api.config, { 'videos/big.mp4': bigBody, 'pages/ünï page+1.md': () => '# Ünï\n' });
  });

  test('the whole file streams with its type, size and name', async () => {
    const res = await get(api, jobId, 'videos/big.mp4');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(res.headers.get('content-length')).toBe(String(BIG));
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="big.mp4"; filename*=UTF-8\'\'big.mp4');
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(BIG_SHA);

    const md = await get(api, jobId, 'pages/ünï page+1.md');
    expect(md.status).toBe(200);
    expect(md.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(md.headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent('ünï page+1.md')}`);
    expect(await md.text()).toBe('# Ünï\n');
  });

  test('byte ranges: a slice, a suffix, past the end, and unsatisfiable', async () => {
    const slice = await get(api, jobId, 'videos/big.mp4', KEYS.alice, { Range: `bytes=${(1 << 20) - 2}-${(1 << 20) + 1}` });
    expect(slice.status).toBe(206);
    expect(slice.headers.get('content-range')).toBe(`bytes ${(1 << 20) - 2}-${(1 << 20) + 1}/${BIG}`);
    expect([...Buffer.from(await slice.arrayBuffer())]).toEqual([0, 0, 1, 1]);

    const suffix = await get(api, jobId, 'videos/big.mp4', KEYS.alice, { Range: 'bytes=-3' });
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get('content-range')).toBe(`bytes ${BIG - 3}-${BIG - 1}/${BIG}`);
    expect([...Buffer.from(await suffix.arrayBuffer())]).toEqual([20, 20, 20]);

    const tail = await get(api, jobId, 'pages/ünï page+1.md', KEYS.alice, { Range: 'bytes=2-999' });
    expect(tail.status).toBe(206);
    expect(await tail.text()).toBe(Buffer.from('# Ünï\n').subarray(2).toString());

    const none = await get(api, jobId, 'videos/big.mp4', KEYS.alice, { Range: `bytes=${BIG}-` });
    expect(none.status).toBe(416);
    expect(none.headers.get('content-range')).toBe(`bytes */${BIG}`);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('range_not_satisfiable');

    // A stale If-Range gets the whole current file.
    const stale = await get(api, jobId, 'pages/ünï page+1.md', KEYS.alice, {
      Range: 'bytes=0-1',
      'If-Range': 'Wed, 21 Oct 2015 07:28:00 GMT',
    });
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe('# Ünï\n');
  });

  test("another owner's job, a missing file and a path out of the job are all 404", async () => {
    const bob = await get(api, jobId, 'videos/big.mp4', KEYS.bob);
    expect(bob.status).toBe(404);
    expect(((await bob.json()) as { error: { message: string } }).error.message).toBe('job not found');
    expect((await get(api, jobId, 'videos/nothing.mp4')).status).toBe(404);
    const out = await fetch(`${api.url}/api/v1/jobs/${jobId}/files/..%2f..%2fother%2ffile`, { headers: auth(KEYS.alice) });
    expect(out.status).toBe(404);
    expect((await get(api, 'no-such-job', 'videos/big.mp4')).status).toBe(404);
  });

  test('a download aborted midway releases the file or S3 connection at once', async () => {
    const reads = new Set<Readable>();
    // Record the stream the store hands the route, to see it destroyed when the client goes.
    const store = createBlobStore(api.config);
    stores.push(store);
    const original = store.get.bind(store);
    store.get = async (...args) => {
      const s = await original(...args);
      reads.add(s);
      return s;
    };
    const { createApp } = await import('../src/api/app');
    const { createLogger } = await import('../src/observability/logger');
    const server = http.createServer(createApp({ config: api.config, client, store, logger: createLogger({}, 'error') }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const openBefore = kind === 'fs' ? openFilesUnder(api.config.dataDir) : 0;
      const aborter = new AbortController();
      const res = await fetch(`${url}/api/v1/jobs/${jobId}/files/videos/big.mp4`, { headers: auth(KEYS.alice), signal: aborter.signal });
      const reader = res.body!.getReader();
      await reader.read();
      aborter.abort();
      const [source] = [...reads];
      await waitFor(() => source.destroyed, 'the source stream to be destroyed', 5_000, 20);
      if (kind === 'fs') await waitFor(() => openFilesUnder(api.config.dataDir) === openBefore, 'the file to be closed', 5_000, 20);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

/** Descriptors this process holds open on files under `dir` (Linux /proc). */
function openFilesUnder(dir: string): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir)) n += 1;
    } catch {
      /* closed meanwhile */
    }
  }
  return n;
}

describe('S3 across API replicas and presigned redirects', () => {
  test('a second API with its own DATA_DIR serves the same file; an fs-backed one cannot', async () => {
    const prefix = `shared-${Date.now()}`;
    const first = await serve(testConfig(minio.s3Config(prefix)), client);
    const second = await serve(testConfig(minio.s3Config(prefix)), client);
    const local = await serve(testConfig(), client);
    apis.push(first, second, local);
    expect(second.config.dataDir).not.toBe(first.config.dataDir);
    const jobId = await jobWithFiles(first.config, { 'results.jsonl': () => '{"url":"https://example.com","status":"success"}\n' });
    for (const api of [first, second]) {
      const res = await get(api, jobId, 'results.jsonl');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-ndjson');
      expect(await res.text()).toBe('{"url":"https://example.com","status":"success"}\n');
    }
    expect((await get(local, jobId, 'results.jsonl')).status).toBe(404);
  });

  test('with S3_PRESIGN_DOWNLOADS the owner gets a 302 to a short-lived URL that serves the file; others get 404', async () => {
    const api = await serve(testConfig({ ...minio.s3Config(), S3_PRESIGN_DOWNLOADS: 'true', S3_PRESIGN_EXPIRY: '2s' }), client);
    apis.push(api);
    const jobId = await jobWithFiles(api.config, { 'videos/big.mp4': bigBody, 'pages/ünï page+1.md': () => '# Ünï\n' });

    const res = await get(api, jobId, 'videos/big.mp4');
    expect(res.status).toBe(302);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const location = new URL(res.headers.get('location')!);
    expect(location.origin).toBe(minio.endpoint);
    expect(location.searchParams.get('X-Amz-Expires')).toBe('2');
    const direct = await fetch(location);
    expect(direct.status).toBe(200);
    expect(direct.headers.get('content-type')).toBe('video/mp4');
    expect(direct.headers.get('content-disposition')).toBe('attachment; filename="big.mp4"; filename*=UTF-8\'\'big.mp4');
    expect(sha256(Buffer.from(await direct.arrayBuffer()))).toBe(BIG_SHA);

    const md = await get(api, jobId, 'pages/ünï page+1.md');
    expect(md.status).toBe(302);
    expect(await (await fetch(md.headers.get('location')!)).text()).toBe('# Ünï\n');

    expect((await get(api, jobId, 'videos/big.mp4', KEYS.bob)).status).toBe(404);
    expect((await get(api, jobId, 'videos/missing.mp4')).status).toBe(404);
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await fetch(location)).status).toBe(403);
  });

  describe('a real bulk job on two worker stores and two APIs', () => {
    let site: TestSite;
    let workers: RunningWorkers;
    afterAll(async () => {
      await workers?.shutdown();
      await site?.close();
    });

    test("a worker's artifacts in S3 download through another API replica", async () => {
      site = await startTestSite();
      const prefix = `bulk-${Date.now()}`;
      const workerConfig = testConfig(minio.s3Config(prefix));
      const apiConfig = testConfig({ ...minio.s3Config(prefix), TASK_QUEUE_PREFIX: workerConfig.TASK_QUEUE_PREFIX });
      workers = await startWorkers(workerConfig);
      const api = await serve(apiConfig, client);
      apis.push(api);
      const start = await fetch(`${api.url}/api/v1/jobs/bulk-conversions`, {
        method: 'POST',
        headers: { ...auth(KEYS.alice), 'Content-Type': 'application/json' },
        body: JSON.stringify({ urls: [site.url('/good/1'), site.url('/good/2')] }),
      });
      expect(start.status).toBe(202);
      const { jobId } = (await start.json()) as { jobId: string };
      jobIds.push(jobId);
      const job = await waitForJobEnd(testApp(apiConfig, client), KEYS.alice, jobId);
      expect(job.result).toMatchObject({ status: 'completed', succeeded: 2 });
      const results = await fetch(job.result!.resultsUrl.replace(apiConfig.publicUrl, api.url), { headers: auth(KEYS.alice) });
      const lines = (await results.text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { downloadUrl: string });
      expect(lines).toHaveLength(2);
      for (const line of lines) {
        const artifact = await fetch(line.downloadUrl.replace(apiConfig.publicUrl, api.url), { headers: auth(KEYS.alice) });
        expect(artifact.status).toBe(200);
        expect(artifact.headers.get('content-type')).toBe('application/zip');
        expect(
          Buffer.from(await artifact.arrayBuffer())
            .subarray(0, 2)
            .toString(),
        ).toBe('PK');
      }
      // Nothing of the job is on either host's disk.
      for (const dir of [workerConfig.dataDir, apiConfig.dataDir]) expect(fs.existsSync(`${dir}/blobs/jobs/${jobId}`)).toBe(false);
    });
  });
});
