import type { ChildProcess } from 'node:child_process';
import type { Client } from '@temporalio/client';
import type { Express } from 'express';
import request from 'supertest';
import type { AppConfig } from '../src/config/env';
import { chunkResultsPath, UrlResult } from '../src/workflows/bulk-conversion/contract';
import { CONVERSION_ERRORS } from '../src/workflows/bulk-conversion/formats';
import { jobFileKey } from '../src/shared/urls';
import { createBlobStore } from '../src/storage';
import { readAllJsonLines } from '../src/storage/json-lines';
import { getJob, startJobDirect, waitForJobEnd } from './fixtures/bulk-jobs';
import { HOSTILE_PAGES, HostilePage, startTestSite, TestSite } from './fixtures/test-site';
import { testApp } from './harness/api';
import { KEYS, RunningWorkers, spawnWorkerProcess, startWorkers, testClient, testConfig, waitFor } from './harness/temporal';

// Untrusted pages are converted in a thread pool with a time budget per page and a heap cap
// per thread. Pages crafted to stall or exhaust a converter fail alone (or convert), other
// jobs keep converting meanwhile, and the worker process stays up and ready.

let client: Client;
let site: TestSite;

beforeAll(async () => {
  client = await testClient();
  site = await startTestSite();
});
afterAll(async () => {
  await site?.close();
  await client?.connection.close();
});

const HOSTILE_OUTCOMES: string[] = [CONVERSION_ERRORS.tooComplex, CONVERSION_ERRORS.contentTooLarge];

/** Every per-URL result of a job's (single) chunk, with the internal error type. */
async function chunkResults(config: AppConfig, jobId: string): Promise<UrlResult[]> {
  return (await readAllJsonLines<UrlResult>(createBlobStore(config), jobFileKey(jobId, chunkResultsPath(0)))) ?? [];
}

describe('hostile pages on a real worker process', () => {
  let config: AppConfig;
  let worker: ChildProcess;
  let app: Express;
  let exits = 0;

  beforeAll(async () => {
    // Default pool settings (threads = cores, 256 MB heap, 10 s per page), as `npm start` runs them.
    config = testConfig();
    worker = await spawnWorkerProcess(config);
    worker.once('exit', () => (exits += 1));
    app = testApp(config, client);
  });
  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      await exited;
    }
  });

  test('each hostile page fails as too complex / too large or converts; another owner’s job keeps converting; the worker stays up and ready', async () => {
    const hostile = Object.keys(HOSTILE_PAGES) as HostilePage[];
    const hostileJob = `hostile-${Date.now()}`;
    const hostileStarted = Date.now();
    await startJobDirect(
      client,
      config,
      hostileJob,
      [...hostile, ...hostile].map((name) => site.url(`/hostile/${name}`)),
      { concurrency: 6, owner: 'alice' },
    );

    // Watch readiness the whole time: every probe must answer 200.
    const readiness: number[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        readiness.push((await request(app).get('/health/ready')).status);
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();

    try {
      await new Promise((r) => setTimeout(r, 2000));
      const otherJob = `bystander-${Date.now()}`;
      const otherStarted = Date.now();
      await startJobDirect(
        client,
        config,
        otherJob,
        Array.from({ length: 20 }, (_, i) => site.url(`/page/bystander-${i}`)),
        { concurrency: 5, owner: 'bob' },
      );

      const other = await waitForJobEnd(app, KEYS.bob, otherJob, 90_000);
      const otherEnded = Date.now();
      expect(other.status).toBe('completed');
      expect(other.result).toMatchObject({ total: 20, succeeded: 20, failed: 0 });

      const job = await waitForJobEnd(app, KEYS.alice, hostileJob, 180_000);
      const hostileEnded = Date.now();
      // The bystander never waits for the hostile job: it ends before it or within seconds of it.
      expect(otherEnded).toBeLessThan(hostileEnded + 10_000);
      // Twelve hostile pages on two threads: each costs at most its 10 s budget plus a thread restart.
      expect(hostileEnded - hostileStarted).toBeLessThan(120_000);
      console.log(
        `hostile job: ${((hostileEnded - hostileStarted) / 1000).toFixed(1)} s; bystander: ${((otherEnded - otherStarted) / 1000).toFixed(1)} s`,
      );

      expect(job.result!.total).toBe(hostile.length * 2);
      const results = await chunkResults(config, hostileJob);
      expect(results).toHaveLength(hostile.length * 2);
      for (const r of results) {
        // Each URL either converted or failed permanently, once, with one of the two types.
        if (r.status === 'failed') {
          expect(HOSTILE_OUTCOMES).toContain(r.errorType);
          expect(r.error).toMatch(/too (complex|large) to convert/);
          expect(r.attempts).toBe(1);
        } else {
          expect(r.status).toBe('success');
        }
      }
      const byPage = (name: HostilePage) => results.filter((r) => r.url.endsWith(`/hostile/${name}`)).map((r) => r.errorType ?? r.status);
      console.log(Object.fromEntries(hostile.map((name) => [name, byPage(name)])));
      // Pages the linear-time code now handles convert; the ones past any sane budget fail.
      expect(byPage('never-closing')).toEqual(['success', 'success']);
      expect(byPage('pre-spaces')).toEqual(['success', 'success']);
      expect(byPage('inline-flood')).toEqual(['success', 'success']);
      expect(byPage('deep-nesting')).toEqual([CONVERSION_ERRORS.tooComplex, CONVERSION_ERRORS.tooComplex]);
      expect(byPage('implied-nesting')).toEqual([CONVERSION_ERRORS.tooComplex, CONVERSION_ERRORS.tooComplex]);
      for (const t of byPage('dense-gzip')) expect(HOSTILE_OUTCOMES).toContain(t);
    } finally {
      watching = false;
      await watcher;
    }
    expect(readiness.length).toBeGreaterThan(3);
    expect(readiness.every((s) => s === 200)).toBe(true);
    expect(exits).toBe(0);
    expect(worker.exitCode).toBeNull();
  });
});

describe('one thread, small heap, in-process worker', () => {
  let config: AppConfig;
  let workers: RunningWorkers;
  let app: Express;

  beforeAll(async () => {
    config = testConfig({ CONVERSION_THREADS: '1', CONVERSION_THREAD_HEAP: '64mb', CONVERSION_PAGE_TIMEOUT: '60s' });
    workers = await startWorkers(config, { queues: ['conversion', 'webhooks'] });
    app = testApp(config, client);
  });
  afterAll(async () => {
    await workers?.shutdown();
  });

  test('a page that exhausts its thread’s heap fails alone; the next URL in the same chunk converts', async () => {
    const jobId = `oom-${Date.now()}`;
    const urls = [site.url('/hostile/dense-gzip'), site.url('/good/1'), site.url('/page/after-oom')];
    await startJobDirect(client, config, jobId, urls, { concurrency: 1 });
    const job = await waitForJobEnd(app, KEYS.alice, jobId, 90_000);
    expect(job.result).toMatchObject({ total: 3, succeeded: 2, failed: 1 });
    const results = await chunkResults(config, jobId);
    expect(results.map((r) => [r.url, r.status, r.errorType])).toEqual([
      [urls[0], 'failed', CONVERSION_ERRORS.contentTooLarge],
      [urls[1], 'success', undefined],
      [urls[2], 'success', undefined],
    ]);
    expect(results[0].error).toMatch(/too large to convert: it needed more than 64 MB of memory/);
  });

  test('cancelling a job terminates its conversion in progress, so the thread is free for the next job at once', async () => {
    const slow = site.url('/hostile/implied-nesting'); // ~45 s of parsing, under the 60 s budget
    const jobId = `cancel-${Date.now()}`;
    const handle = await startJobDirect(client, config, jobId, [slow], { concurrency: 1 });
    await waitFor(() => (site.requests.get('/hostile/implied-nesting') ?? 0) >= 1, 'the slow page to be fetched');
    await new Promise((r) => setTimeout(r, 1500)); // its one thread is busy parsing now

    const cancelledAt = Date.now();
    await handle.cancel();
    const job = await waitForJobEnd(app, KEYS.alice, jobId, 30_000);
    expect(job.status).toBe('cancelled');
    expect(Date.now() - cancelledAt).toBeLessThan(10_000);

    // With one thread, the next page converts only if the cancelled conversion was stopped.
    const nextId = `after-cancel-${Date.now()}`;
    const nextStarted = Date.now();
    await startJobDirect(client, config, nextId, [site.url('/good/2')], { concurrency: 1 });
    const next = await waitForJobEnd(app, KEYS.alice, nextId, 30_000);
    expect(next.status).toBe('completed');
    expect(Date.now() - nextStarted).toBeLessThan(20_000);
    expect((await getJob(app, KEYS.alice, jobId)).status).toBe('cancelled');
  });
});
