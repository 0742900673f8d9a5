import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setMaxListeners } from 'node:events';
import {
  ConversionPool,
  createConversionPool,
  PAGES_PER_THREAD,
  poolOptionsFrom,
  WAITING_PAGES_PER_THREAD,
} from '../src/activities/bulk-conversion/conversion-pool';
import { createUrlConverter, ConvertUrlOutput } from '../src/activities/bulk-conversion/convert-url';
import { slidingWindow } from '../src/activities/bulk-conversion/sliding-window';
import { closeOutboundAgents } from '../src/net/http-client';
import { jobFileKey } from '../src/shared/urls';
import type { BlobStore } from '../src/storage/blob-store';
import { testConfig, testDeps } from './harness/temporal';

// The fetch backlog bound as a chunk meets it: convertUrl driven by the chunk's sliding
// window, with the real fetcher, a real site on loopback, the real conversion pool (one
// thread) and the real blob store. A lane's fetch slot frees once its page is fetched, unless
// the pool is backlogged; then it frees once the page reaches a thread. So fetching runs
// ahead of a slow conversion by a bounded number of pages, and keeps `limit` fetches in
// flight when conversion keeps up.

const THREADS = 1;

let jobCounter = 0;

/** A page whose paragraphs carry its number, so each artifact can be traced back to its URL. */
function article(n: number, paragraphs: number): string {
  const body = Array.from(
    { length: paragraphs },
    (_, i) =>
      `<p>Paragraph ${i} of article ${n}, about durable workflows, retries and <a href="/more/${i}">links</a> that keep work safe.</p>`,
  ).join('\n');
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Article ${n}</title></head><body><article><h1>Article ${n}</h1>\n${body}\n</article></body></html>`;
}

interface ArticleSite {
  url(n: number): string;
  /** Requests received so far. */
  received(): number;
  /** Requests received and not answered yet. */
  open(): number;
  close(): Promise<void>;
}

/**
 * Answers /article/<n> with `article(n, paragraphs)` after `latencyMs` (at once when 0).
 * `onRequest` runs as each request arrives, before it is answered.
 */
async function startArticleSite(paragraphs: number, latencyMs: number, onRequest: () => void): Promise<ArticleSite> {
  let received = 0;
  let open = 0;
  const server = http.createServer((req, res) => {
    received += 1;
    open += 1;
    res.on('close', () => (open -= 1));
    onRequest();
    const n = Number(/^\/article\/(\d+)$/.exec(req.url ?? '')?.[1] ?? -1);
    const answer = () =>
      n < 0 ? res.writeHead(404).end() : res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(article(n, paragraphs));
    if (latencyMs > 0) setTimeout(answer, latencyMs);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: (n) => `http://127.0.0.1:${port}/article/${n}`,
    received: () => received,
    open: () => open,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface WindowRun {
  jobId: string;
  outputs: ConvertUrlOutput[];
  failures: unknown[];
}

interface Converter {
  convertUrl: ReturnType<typeof createUrlConverter>;
  store: BlobStore;
  pool: ConversionPool;
}

let pool: ConversionPool | undefined;
let site: ArticleSite | undefined;
afterEach(async () => {
  await pool?.close();
  await site?.close();
  pool = undefined;
  site = undefined;
});
afterAll(() => closeOutboundAgents());

/** convertUrl on a warm one-thread pool, as the chunk activity builds it. */
async function warmConverter(): Promise<Converter> {
  const config = testConfig({ CONVERSION_THREADS: String(THREADS) });
  const deps = testDeps(config);
  pool = createConversionPool(poolOptionsFrom(config));
  pool.warm();
  // The thread is up before the first fetch, so the run measures the window, not a thread start.
  expect((await pool.convert({ html: article(-1, 1), url: 'http://127.0.0.1/', format: 'markdown', group: 'warm-up' })).kind).toBe(
    'converted',
  );
  return { convertUrl: createUrlConverter(deps, pool), store: deps.store, pool };
}

/** Converts `urls` as the chunk does: convertUrl per URL in a sliding window whose lanes free their slot via onFetched. */
async function convertInWindow(
  { convertUrl }: Converter,
  urls: readonly string[],
  limit: number,
  onConverted: () => void,
): Promise<WindowRun> {
  // A new job: its artifact folder is made while its first pages are on their way to the pool.
  const jobId = `backlog-${process.pid}-${++jobCounter}`;
  const outputs: ConvertUrlOutput[] = [];
  const failures: unknown[] = [];
  const signal = new AbortController().signal;
  setMaxListeners(limit + 5, signal); // one listener per lane, as in the chunk
  await slidingWindow(
    urls.map((url, index) => ({ url, index })),
    limit,
    async ({ url, index }, laneSignal, freeSlot) => {
      try {
        outputs[index] = await convertUrl({ jobId, index, url, format: 'markdown', signal: laneSignal, onFetched: freeSlot });
        onConverted();
      } catch (e) {
        failures.push(e);
      }
    },
    signal,
  );
  await Promise.all(outputs.map((o) => o?.durable));
  return { jobId, outputs, failures };
}

/** Every URL has its own artifact, converted from its own page. */
async function expectArtifacts(store: BlobStore, run: WindowRun, count: number): Promise<void> {
  expect(run.failures).toEqual([]);
  expect(run.outputs.filter(Boolean)).toHaveLength(count);
  for (let n = 0; n < count; n++) {
    const output = run.outputs[n];
    expect(output.title).toBe(`Article ${n}`);
    const text = (await store.getBuffer(jobFileKey(run.jobId, output.artifactPath))).toString('utf8');
    expect(text).toContain(`Paragraph 0 of article ${n},`);
    expect(Buffer.byteLength(text)).toBe(output.bytes);
  }
}

const urlsOf = (site: ArticleSite, count: number) => Array.from({ length: count }, (_, n) => site.url(n));

test('fetching runs ahead of a slow conversion by a bounded backlog, and every page still converts', async () => {
  // ~5 ms of thread time per page, answered at once: fetching is far faster than conversion.
  // `count` is well above the bound below, so a window that fetched without one would exceed it.
  const count = 500;
  const limit = 50;
  const converter = await warmConverter();
  let converted = 0;
  let ahead = 0;
  // Pages fetched or being fetched and not converted yet; sampled as each request arrives, the only time it grows.
  site = await startArticleSite(250, 0, () => (ahead = Math.max(ahead, site!.received() - converted)));
  const run = await convertInWindow(converter, urlsOf(site, count), limit, () => (converted += 1));
  await expectArtifacts(converter.store, run, count);

  // What holds a page fetched and not converted:
  // - a lane's slot: every URL the window started holds one until it frees it (a fetch in
  //   flight, or a fetched page that found the pool backlogged and waits for a thread): `limit`;
  // - a thread: PAGES_PER_THREAD per thread, slot freed;
  // - the pool's waiting line, slot freed early: a page frees its slot at once only while fewer
  //   than WAITING_PAGES_PER_THREAD per thread wait or are on their way to the line (a check
  //   phase, or the job's first folder, away): WAITING_PAGES_PER_THREAD * threads.
  const waiting = WAITING_PAGES_PER_THREAD * THREADS;
  const bound = limit + waiting + PAGES_PER_THREAD * THREADS;
  expect(ahead).toBeLessThanOrEqual(bound);
  // And the window does run ahead: while a backlog waits for the thread, every lane fetches. Its
  // peak is about the bound, less the pages the thread finishes while the lanes' next requests
  // arrive; slots held until pages reach a thread would stop it at `limit + PAGES_PER_THREAD`.
  expect(ahead).toBeGreaterThanOrEqual(limit + (waiting * 3) / 4);
});

test('when conversion keeps up, slots free as pages arrive: the site sees `limit` requests at once all along', async () => {
  // Tiny pages (~1 ms of thread time) behind 200 ms of latency: 16 lanes ask for 80 pages a
  // second, which one thread keeps up with even on a machine busy with other tests.
  const count = 200;
  const limit = 16;
  const converter = await warmConverter();
  let converted = 0;
  let ahead = 0;
  let concurrentLater = 0;
  let backlogged = false;
  site = await startArticleSite(10, 200, () => {
    ahead = Math.max(ahead, site!.received() - converted);
    if (site!.received() > 2 * limit) concurrentLater = Math.max(concurrentLater, site!.open());
    backlogged ||= converter.pool.backlogged();
  });
  const run = await convertInWindow(converter, urlsOf(site, count), limit, () => (converted += 1));
  await expectArtifacts(converter.store, run, count);

  expect(backlogged).toBe(false);
  // Past the first two rounds, every lane still has a request open at the site at once.
  expect(concurrentLater).toBe(limit);
  // A lane asks for its next page while its last one waits for or goes through the thread;
  // were slots held until the page reached the thread, at most PAGES_PER_THREAD could be ahead of the lanes.
  expect(ahead).toBeGreaterThan(limit + PAGES_PER_THREAD * THREADS);
});
