import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createConversionPool, ConversionPool, poolOptionsFrom } from '../src/activities/bulk-conversion/conversion-pool';
import { warmUpPagePath } from '../src/activities/bulk-conversion/page-path-warm-up';
import { fetchHtml } from '../src/net/fetch-html';
import type { Logger } from '../src/observability/logger';
import { BULK_CONVERSION_QUEUE } from '../src/workflows/bulk-conversion/contract';
import { bulkConversion } from '../src/workflows/bulk-conversion';
import { prefixedQueue } from '../src/shared/task-queues';
import { startWorkers, testClient, testConfig, testDeps } from './harness/temporal';

// Before a worker polls, it converts sample pages over loopback the way a chunk does (see
// src/activities/bulk-conversion/page-path-warm-up.ts). It must leave nothing behind.

const listeningServers = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
const openSockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

let tempRoot: string;
let pool: ConversionPool | undefined;
beforeEach(() => (tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-warm-up-test-'))));
afterEach(async () => {
  await pool?.close();
  pool = undefined;
  fs.rmSync(tempRoot, { recursive: true, force: true });
});

test('converts its sample pages in the thread pool and leaves no file, server or connection behind', async () => {
  const config = testConfig({ CONVERSION_THREADS: '1' });
  pool = createConversionPool(poolOptionsFrom(config));
  const servers = listeningServers();
  const sockets = openSockets();
  const result = await warmUpPagePath(testDeps(config), pool, 120, tempRoot);
  expect(result.pages).toBe(120);
  expect(result.ms).toBeGreaterThan(0);
  expect(pool.stats().pages).toBe(120);
  expect(fs.readdirSync(tempRoot)).toEqual([]);
  expect(listeningServers()).toBe(servers);
  expect(openSockets()).toBe(sockets);
});

test('pages that do not convert fail the warm-up with the reason, and it still cleans up', async () => {
  // The sample article is about 3 KB: over this fetch limit every page fails.
  const config = testConfig({ CONVERSION_THREADS: '1', FETCH_MAX_BYTES: '1kb' });
  pool = createConversionPool(poolOptionsFrom(config));
  const servers = listeningServers();
  await expect(warmUpPagePath(testDeps(config), pool, 20, tempRoot)).rejects.toThrow(
    /a warm-up page did not convert \(ResponseTooLarge: .* larger than the 1024-byte limit/,
  );
  expect(fs.readdirSync(tempRoot)).toEqual([]);
  expect(listeningServers()).toBe(servers);
});

test('a warm-up beside running jobs leaves their connections alone', async () => {
  // Workers started in a process where others already fetch (tests, a restart in place) warm up
  // while a job's request is in flight on the same host through the job's own allow list.
  const config = testConfig({ CONVERSION_THREADS: '1' });
  pool = createConversionPool(poolOptionsFrom(config));
  const slow = http.createServer((_req, res) => {
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body><p>late</p></body></html>'), 500);
  });
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = slow.address() as AddressInfo;
    const options = { policy: { allowHosts: ['127.0.0.1'] }, timeoutMs: 5000, connectTimeoutMs: 1000, maxBytes: 1 << 20 };
    const inFlight = fetchHtml(`http://127.0.0.1:${port}/`, options);
    await warmUpPagePath(testDeps(config), pool, 20, tempRoot);
    await expect(inFlight).resolves.toMatchObject({ status: 200, html: expect.stringContaining('late') });
  } finally {
    slow.closeAllConnections();
    await new Promise((resolve) => slow.close(resolve));
  }
});

interface Line {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}

/** A logger that keeps what it is told. */
function capturingLogger(lines: Line[]): Logger {
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

test('a conversion worker has warmed its page path before it polls, and says so', async () => {
  const config = testConfig({ CONVERSION_WARM_UP_PAGES: '60' });
  const lines: Line[] = [];
  const workers = await startWorkers(config, {
    queues: [BULK_CONVERSION_QUEUE],
    deps: testDeps(config, { logger: capturingLogger(lines) }),
  });
  try {
    // startWorkers returns once the Workers were created, before they poll.
    expect(lines.find((l) => l.msg === 'conversion path warmed up')?.fields).toMatchObject({ pages: 60 });
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
  } finally {
    await workers.shutdown();
  }
});

test('a warm-up that fails is logged and the worker polls all the same', async () => {
  const config = testConfig({ CONVERSION_WARM_UP_PAGES: '10', FETCH_MAX_BYTES: '1kb' });
  const lines: Line[] = [];
  const workers = await startWorkers(config, {
    queues: [BULK_CONVERSION_QUEUE],
    deps: testDeps(config, { logger: capturingLogger(lines) }),
  });
  try {
    expect(lines.find((l) => l.level === 'warn')?.msg).toBe('an activity warm-up failed; the first job of its type starts cold');
    expect(lines.some((l) => l.msg === 'conversion path warmed up')).toBe(false);
    // It polls: a job's chunk runs (its one URL, a private address, is refused before any fetch).
    const client = await testClient(config);
    const jobId = `warm-up-failed-${Date.now()}`;
    const result = await client.workflow.execute(bulkConversion, {
      workflowId: jobId,
      taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, BULK_CONVERSION_QUEUE),
      args: [{ jobId, owner: 'test', source: { urls: ['http://10.0.0.1/page'] }, format: 'markdown', concurrency: 1 }],
    });
    expect(result).toMatchObject({ total: 1, succeeded: 0, failed: 1 });
    expect(result.results?.[0]).toMatchObject({
      url: 'http://10.0.0.1/page',
      status: 'failed',
      error: expect.stringMatching(/refused target 10\.0\.0\.1/),
    });
  } finally {
    await workers.shutdown();
  }
});
