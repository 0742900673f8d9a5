import { setMaxListeners } from 'node:events';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { closeOutboundAgents } from '../../net/http-client';
import { FsBlobStore } from '../../storage/fs-blob-store';
import { CONVERSION_FORMATS } from '../../workflows/bulk-conversion/formats';
import type { ActivityDeps } from '../deps';
import type { BulkConversionConfig } from './config';
import type { ConversionPool } from './conversion-pool';
import { createUrlConverter } from './convert-url';
import { WARM_UP_PAGE } from './page-thread-warm-up';
import { slidingWindow } from './sliding-window';
import { withUrlRetries } from './url-retry';

// Before a worker polls, it converts sample pages the way a chunk does: fetched over loopback
// HTTP through the outbound client, handed to the conversion threads, written to a throwaway
// store. Cold, the event loop's share of a page (the HTTP client, the window, the hand-off) costs
// several times its steady figure, while the first round of a job's fetches all return at once:
// on the bulk benchmark (10,000 URLs, concurrency 200) fetches in a cold worker's first 500 ms
// took 160-210 ms (median) where the site answers in 100, and 118-165 ms warmed; over 10
// alternating runs efficiency went from a median 0.80 to 0.82 (8 runs better, 1 worse). It costs
// ~0.8-1 s of the worker's start.

/** A reserved name (RFC 2606) that never resolves: it only keys the warm-up's connection pool. */
const WARM_UP_POOL_NAME = 'page-warm-up.invalid';

/** Lanes of the warm-up window: a chunk's usual share of a job's concurrency. */
const WARM_UP_LANES = 50;

export interface PagePathWarmUp {
  pages: number;
  ms: number;
}

/** Converts `pages` sample pages through `pool`; nothing it writes (under `tempRoot`) outlives it. */
export async function warmUpPagePath(
  deps: ActivityDeps<BulkConversionConfig>,
  pool: ConversionPool,
  pages: number,
  tempRoot = os.tmpdir(),
): Promise<PagePathWarmUp> {
  const started = performance.now();
  const body = Buffer.from(WARM_UP_PAGE);
  const site = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
  // Its own allow list: the loopback site is reachable for the warm-up only, through a connection
  // pool of its own (the reserved name makes the list, the pool's key, unlike any real one, so
  // closing it never touches the pools jobs use in this process).
  const policy = { allowHosts: ['127.0.0.1', WARM_UP_POOL_NAME] };
  const config = { ...deps.config, OUTBOUND_ALLOW_HOSTS: policy.allowHosts };
  let dir: string | undefined;
  try {
    await new Promise<void>((resolve, reject) => site.once('error', reject).listen(0, '127.0.0.1', resolve));
    const { port } = site.address() as AddressInfo;
    dir = await fs.mkdtemp(path.join(tempRoot, 'dj-page-warm-up-'));
    const convertUrl = createUrlConverter({ ...deps, config, store: new FsBlobStore(dir) }, pool);
    const neverAborted = new AbortController().signal;
    setMaxListeners(WARM_UP_LANES + 5, neverAborted); // one listener per lane
    const retries = { attempts: 1, initialIntervalMs: 0, maxIntervalMs: 0 };
    const items = Array.from({ length: pages }, (_, index) => index);
    let failure: string | undefined;
    await slidingWindow(
      items,
      WARM_UP_LANES,
      async (index, signal, freeSlot) => {
        const url = `http://127.0.0.1:${port}/page/${index}`;
        const format = CONVERSION_FORMATS[index % CONVERSION_FORMATS.length];
        const outcome = await withUrlRetries(
          () => convertUrl({ jobId: 'warm-up', index, url, format, signal, onFetched: freeSlot }),
          retries,
          signal,
        );
        if (!outcome.ok) failure ??= `${outcome.errorType}: ${outcome.error}`;
        else await outcome.value.durable;
      },
      neverAborted,
    );
    if (failure) throw new Error(`a warm-up page did not convert (${failure})`);
    return { pages, ms: Math.round(performance.now() - started) };
  } finally {
    site.closeAllConnections();
    if (site.listening) await new Promise((resolve) => site.close(resolve));
    await closeOutboundAgents(policy);
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  }
}
