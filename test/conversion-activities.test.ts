import dns from 'node:dns';
import net from 'node:net';
import os from 'node:os';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import JSZip from 'jszip';
import { createUrlConverter, ConvertUrlInput, ConvertUrlOutput } from '../src/activities/bulk-conversion/convert-url';
import type { AppConfig } from '../src/config/env';
import { closeOutboundAgents } from '../src/net/http-client';
import { CONVERSION_ERRORS, isPermanentConversionError } from '../src/workflows/bulk-conversion/formats';
import { jobFileKey } from '../src/shared/urls';
import type { BlobStore } from '../src/storage/blob-store';
import {
  generatedPageTitle,
  goodPageTitle,
  LATIN1_TITLE,
  NO_TITLE_HEADING,
  startTestSite,
  TestSite,
  XHTML_TITLE,
} from './fixtures/test-site';
import { freePort } from './harness/ports';
import { testConfig, testDeps, waitFor } from './harness/temporal';

// The per-URL converter through the real fetcher, the real test site and a real FsBlobStore.

type Converter = (input: ConvertUrlInput) => Promise<ConvertUrlOutput>;

let site: TestSite;
beforeAll(async () => {
  site = await startTestSite({ slowMs: 20_000, oversizedBytes: 3 * 1024 * 1024 });
});
afterAll(async () => {
  await site.close();
  await closeOutboundAgents();
});

function converterFor(overrides: Record<string, string | undefined> = {}): { convert: Converter; store: BlobStore; config: AppConfig } {
  const config = testConfig({ FETCH_MAX_BYTES: '1mb', ...overrides });
  const deps = testDeps(config);
  return { convert: createUrlConverter(deps), store: deps.store, config };
}

let jobCounter = 0;
function job(url: string, format: 'h5p' | 'markdown' = 'h5p', index = 1): ConvertUrlInput {
  return { jobId: `conv-test-${process.pid}-${++jobCounter}`, index, url, format };
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApplicationFailure))
    throw new Error(`expected an ApplicationFailure, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  return err;
}

async function expectPermanent(promise: Promise<unknown>, type: string, message?: RegExp): Promise<ApplicationFailure> {
  const failure = await failureOf(promise);
  expect(failure.type).toBe(type);
  expect(failure.nonRetryable).toBe(true);
  expect(isPermanentConversionError(failure.type)).toBe(true);
  if (message) expect(failure.message).toMatch(message);
  return failure;
}

async function expectRetryable(promise: Promise<unknown>, type: string, message?: RegExp): Promise<ApplicationFailure> {
  const failure = await failureOf(promise);
  expect(failure.type).toBe(type);
  expect(failure.nonRetryable).toBe(false);
  expect(isPermanentConversionError(failure.type)).toBe(false);
  if (message) expect(failure.message).toMatch(message);
  return failure;
}

async function unzipH5p(store: BlobStore, jobId: string, artifactPath: string) {
  const zip = await JSZip.loadAsync(await store.getBuffer(jobFileKey(jobId, artifactPath)));
  const h5pJson = JSON.parse(await zip.file('h5p.json')!.async('string'));
  const contentJson = JSON.parse(await zip.file('content/content.json')!.async('string'));
  return {
    zip,
    h5pJson,
    contentJson,
    texts: contentJson.content.map((c: { content: { params: { text: string } } }) => c.content.params.text).join('\n'),
  };
}

describe('converting pages of the test site', () => {
  const { convert, store } = converterFor();

  test.each([1, 2, 3, 4, 5])(
    'good page %i becomes a valid .h5p package with scripts, handlers and javascript: links removed',
    async (n) => {
      const input = job(site.url(`/good/${n}`), 'h5p', 40 + n);
      const { durable, ...out } = await convert(input);
      // On the fs store the thread wrote the file; it is reported once its folder is synced.
      await durable;
      expect(out).toEqual({ artifactPath: `artifacts/0000${40 + n}.h5p`, bytes: expect.any(Number), title: goodPageTitle(n) });

      const info = await store.stat(jobFileKey(input.jobId, out.artifactPath));
      expect(info).toMatchObject({ key: jobFileKey(input.jobId, out.artifactPath), bytes: out.bytes, contentType: 'application/zip' });

      const { zip, h5pJson, contentJson, texts } = await unzipH5p(store, input.jobId, out.artifactPath);
      expect(
        Object.keys(zip.files)
          .filter((f) => !zip.files[f].dir)
          .sort(),
      ).toEqual(['content/content.json', 'h5p.json']);
      expect(h5pJson).toMatchObject({
        title: goodPageTitle(n),
        language: 'en',
        mainLibrary: 'H5P.Column',
        embedTypes: ['div'],
        license: 'U',
        defaultLanguage: 'en',
        preloadedDependencies: [
          { machineName: 'H5P.Column', majorVersion: 1, minorVersion: 16 },
          { machineName: 'H5P.AdvancedText', majorVersion: 1, minorVersion: 1 },
        ],
      });
      for (const dep of h5pJson.preloadedDependencies) {
        expect(Number.isInteger(dep.majorVersion)).toBe(true);
        expect(Number.isInteger(dep.minorVersion)).toBe(true);
      }

      // One text block per top-level section: intro, "First section", "Second section".
      expect(contentJson.content).toHaveLength(3);
      for (const block of contentJson.content) {
        expect(block.useSeparator).toBe('auto');
        expect(block.content.library).toBe('H5P.AdvancedText 1.1');
        expect(block.content.subContentId).toMatch(/^[0-9a-f-]{36}$/);
        expect(typeof block.content.params.text).toBe('string');
      }
      expect(contentJson.content[1].content.params.text).toMatch(/^<h2>First section<\/h2>/);
      expect(texts).toContain('<strong>durable workflows</strong>');
      expect(texts).toContain('<li>First point about reliability</li>');
      expect(texts).toContain(`<a href="${site.baseUrl}/docs/intro?ref=${n}">relative link</a>`);
      expect(texts).toContain(`<a href="${site.baseUrl}/images/figure-${n}.png">Figure ${n}</a>`);
      expect(texts).toContain('<pre><code>const x = 1;\nconsole.log(x);</code></pre>');

      // Nothing executable survives anywhere in the package.
      const raw = `${JSON.stringify(h5pJson)}${JSON.stringify(contentJson)}`;
      for (const bad of [
        /<script/i,
        /onclick/i,
        /onerror/i,
        /javascript:/i,
        /<iframe/i,
        /<style/i,
        /alert\(/,
        /document\.cookie/,
        /Copyright footer/,
        /Home/,
      ]) {
        expect(raw).not.toMatch(bad);
      }
      expect(texts).toContain('an evil link and'); // the link's text stays, its href does not
    },
  );

  test('markdown output has the title first, then headings, lists, links, emphasis and code', async () => {
    const input = job(site.url('/good/2'), 'markdown', 7);
    const out = await convert(input);
    expect(out.artifactPath).toBe('artifacts/000007.md');
    expect(out.title).toBe(goodPageTitle(2));
    const info = await store.stat(jobFileKey(input.jobId, out.artifactPath));
    expect(info?.contentType).toMatch(/^text\/markdown/);

    const md = (await store.getBuffer(jobFileKey(input.jobId, out.artifactPath))).toString('utf8');
    expect(md.split('\n')[0]).toBe('# Good Article 2');
    expect(md).toContain('## First section\n');
    expect(md).toContain('## Second section\n');
    expect(md).toContain('- First point about reliability\n- Second point about **visibility**\n- Third point about scale');
    expect(md).toContain('1. Start the job\n2. Watch its progress');
    expect(md).toContain(`[relative link](${site.baseUrl}/docs/intro?ref=2)`);
    expect(md).toContain(`![Figure 2](${site.baseUrl}/images/figure-2.png)`);
    expect(md).toContain('why **durable workflows** matter and how _retries_ keep');
    expect(md).toContain('`inline code`');
    expect(md).toContain('```\nconst x = 1;\nconsole.log(x);\n```');
    expect(md).toContain('an evil link and');
    for (const bad of [/javascript:/i, /alert/, /<script/i, /onclick/i, /document\.cookie/, /Copyright footer/])
      expect(md).not.toMatch(bad);
    expect(out.bytes).toBe(Buffer.byteLength(md));
  });

  test('a page without <title> is titled by its first heading; one with neither by its URL', async () => {
    const a = job(site.url('/no-title'));
    const outA = await convert(a);
    expect(outA.title).toBe(NO_TITLE_HEADING);
    const { h5pJson } = await unzipH5p(store, a.jobId, outA.artifactPath);
    expect(h5pJson.title).toBe(NO_TITLE_HEADING);
    expect(h5pJson.language).toBe('und');

    const b = job(site.url('/no-heading'), 'markdown');
    const outB = await convert(b);
    expect(outB.title).toBe(site.url('/no-heading'));
    const md = (await store.getBuffer(jobFileKey(b.jobId, outB.artifactPath))).toString('utf8');
    expect(md).toContain('A page with neither a title nor any heading');
  });

  test('generated /page/<n> pages convert in both formats', async () => {
    const h5p = await convert(job(site.url('/page/123'), 'h5p', 123));
    expect(h5p).toMatchObject({ artifactPath: 'artifacts/000123.h5p', title: generatedPageTitle(123) });
    const md = await convert(job(site.url('/page/abc'), 'markdown', 0));
    expect(md).toMatchObject({ artifactPath: 'artifacts/000000.md', title: generatedPageTitle('abc') });
  });

  test('redirects are followed, up to five hops', async () => {
    const before = site.requests.get('/good/1') ?? 0;
    expect((await convert(job(site.url('/redirect')))).title).toBe(goodPageTitle(1));
    expect(site.requests.get('/good/1')).toBe(before + 1);
    expect((await convert(job(site.url('/redirect-chain/5')))).title).toBe(goodPageTitle(1));
    await expectPermanent(convert(job(site.url('/redirect-chain/6'))), CONVERSION_ERRORS.tooManyRedirects, /more than 5 redirects/);
  });

  test('a redirect loop is refused as a permanent failure', async () => {
    const before = site.requests.get('/redirect-loop') ?? 0;
    await expectPermanent(convert(job(site.url('/redirect-loop'))), CONVERSION_ERRORS.tooManyRedirects, /redirect loop/);
    expect(site.requests.get('/redirect-loop')).toBe(before + 1);
  });

  test.each([
    ['/404', 404],
    ['/410', 410],
    ['/403', 403],
  ])('%s is a permanent HttpClientError', async (path, status) => {
    const failure = await expectPermanent(convert(job(site.url(path))), CONVERSION_ERRORS.httpClientError, new RegExp(`HTTP ${status}`));
    expect(failure.details?.[0]).toMatchObject({ httpStatus: status });
  });

  test.each(['/500', '/503'])('%s is a retryable HttpServerError', async (path) => {
    await expectRetryable(convert(job(site.url(path))), CONVERSION_ERRORS.httpServerError, new RegExp(`HTTP ${path.slice(1)}`));
  });

  test('408 is retryable; 429 is retryable after its Retry-After', async () => {
    await expectRetryable(convert(job(site.url('/408'))), CONVERSION_ERRORS.httpRetryable, /HTTP 408/);
    const failure = await expectRetryable(convert(job(site.url('/429'))), CONVERSION_ERRORS.httpRetryable, /HTTP 429/);
    expect(failure.nextRetryDelay).toBe(2000);
  });

  test.each([
    ['/not-html', 'application/pdf'],
    ['/image', 'image/png'],
  ])('%s is refused as unsupported content', async (path, type) => {
    await expectPermanent(convert(job(site.url(path))), CONVERSION_ERRORS.unsupportedContentType, new RegExp(type.replace('/', '\\/')));
  });

  test('an oversized page streamed without Content-Length is aborted at the cap', async () => {
    await expectPermanent(convert(job(site.url('/oversized'))), CONVERSION_ERRORS.tooLarge, /larger than the 1048576-byte limit/);
  });

  test('a declared Content-Length over the cap, or a body over it only after decompression, is refused too', async () => {
    const small = converterFor({ FETCH_MAX_BYTES: '1kb' });
    await expectPermanent(small.convert(job(site.url('/good/1'))), CONVERSION_ERRORS.tooLarge, /1024-byte limit/);
    await expectPermanent(small.convert(job(site.url('/gzip'))), CONVERSION_ERRORS.tooLarge, /1024-byte limit/);
  });

  test('a slow page times out (retryable), whether it stalls before the headers or mid-body', async () => {
    const { convert } = converterFor({ FETCH_TIMEOUT: '1s' });
    await expectRetryable(convert(job(site.url('/slow'))), CONVERSION_ERRORS.timeout, /timed out after 1000 ms/);
    await expectRetryable(convert(job(site.url('/slow-body'))), CONVERSION_ERRORS.timeout, /timed out/);
  });

  test('a server that accepts the connection but never completes the TLS handshake hits the connect timeout', async () => {
    const silent = net.createServer(() => {
      /* accept and say nothing */
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as net.AddressInfo;
      const slowConnect = converterFor({ FETCH_TIMEOUT: '60s', FETCH_CONNECT_TIMEOUT: '300ms' });
      await expectRetryable(
        slowConnect.convert(job(`https://127.0.0.1:${port}/`)),
        CONVERSION_ERRORS.timeout,
        /could not connect to 127\.0\.0\.1:\d+ within 300 ms/,
      );
    } finally {
      silent.close();
    }
  });

  test('a flaky page fails twice (retryable) and then converts', async () => {
    const url = site.url(`/flaky/${process.pid}-${Date.now()}`);
    await expectRetryable(convert(job(url)), CONVERSION_ERRORS.httpServerError);
    await expectRetryable(convert(job(url)), CONVERSION_ERRORS.httpServerError);
    expect((await convert(job(url))).title).toBe(goodPageTitle(2));
  });

  test('a page with no text at all is permanently unparseable', async () => {
    await expectPermanent(convert(job(site.url('/empty'))), CONVERSION_ERRORS.unparseable, /no readable text/);
  });

  test.each(['/latin1', '/meta-charset'])('%s is decoded with its ISO-8859-1 charset', async (path) => {
    const input = job(site.url(path), 'markdown');
    const out = await convert(input);
    expect(out.title).toBe(LATIN1_TITLE);
    const md = (await store.getBuffer(jobFileKey(input.jobId, out.artifactPath))).toString('utf8');
    expect(md).toContain('Crème brûlée, déjà vu, naïve façade');
  });

  test.each(['/gzip', '/deflate', '/br'])('%s-compressed pages are decompressed', async (path) => {
    expect((await convert(job(site.url(path)))).title).toBe(goodPageTitle(1));
  });

  test('application/xhtml+xml is accepted and its language kept', async () => {
    const input = job(site.url('/xhtml'));
    const out = await convert(input);
    expect(out.title).toBe(XHTML_TITLE);
    expect((await unzipH5p(store, input.jobId, out.artifactPath)).h5pJson.language).toBe('de');
  });

  test('a broken page fails until it is fixed', async () => {
    site.setBroken('/page/broken-1', true);
    await expectRetryable(convert(job(site.url('/page/broken-1'))), CONVERSION_ERRORS.httpServerError);
    site.setBroken('/page/broken-*', true, 404);
    await expectPermanent(convert(job(site.url('/page/broken-2'))), CONVERSION_ERRORS.httpClientError);
    site.setBroken('/page/broken-1', false);
    site.setBroken('/page/broken-*', false);
    expect((await convert(job(site.url('/page/broken-1')))).title).toBe(generatedPageTitle('broken-1'));
  });

  test('a refused connection is a retryable network error', async () => {
    const port = await freePort();
    await expectRetryable(convert(job(`http://127.0.0.1:${port}/x`)), CONVERSION_ERRORS.network, /ECONNREFUSED/);
  });

  test('malformed and non-http URLs are refused permanently', async () => {
    await expectPermanent(convert(job('not a url')), CONVERSION_ERRORS.invalidUrl);
    await expectPermanent(convert(job('ftp://127.0.0.1/file')), CONVERSION_ERRORS.blockedTarget, /only http and https/);
    await expectPermanent(convert(job('http://user:pw@127.0.0.1/')), CONVERSION_ERRORS.blockedTarget, /credentials/);
  });

  test('many pages in parallel, sharing one cancellation signal, all convert over the keep-alive pool', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const shared = new AbortController();
      const outs = await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          convert({ ...job(site.url(`/page/par-${i}`), i % 2 ? 'markdown' : 'h5p', i), signal: shared.signal }),
        ),
      );
      expect(outs.map((o) => o.title)).toEqual(Array.from({ length: 300 }, (_, i) => generatedPageTitle(`par-${i}`)));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => /MaxListeners/.test(w))).toEqual([]);
  });
});

describe('SSRF guard', () => {
  test('with no allowed hosts, loopback and private targets are refused before any request', async () => {
    const { convert } = converterFor({ OUTBOUND_ALLOW_HOSTS: undefined });
    const before = site.requests.get('/good/1') ?? 0;
    for (const url of [
      site.url('/good/1'),
      `http://localhost:${site.port}/good/1`,
      `http://[::1]:${site.port}/good/1`,
      `http://0.0.0.0:${site.port}/good/1`,
      `http://2130706433:${site.port}/good/1`, // 127.0.0.1 as one decimal number
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/',
      'http://192.168.1.1/',
      'http://[::ffff:127.0.0.1]/',
    ]) {
      await expectPermanent(convert(job(url)), CONVERSION_ERRORS.blockedTarget, /refused target/);
    }
    expect(site.requests.get('/good/1') ?? 0).toBe(before);
  });

  test('a host name that resolves to loopback is refused after DNS resolution', async () => {
    // This machine's own host name normally resolves to a loopback address via /etc/hosts.
    const host = os.hostname().toLowerCase();
    const addresses = await dns.promises.lookup(host, { all: true }).catch(() => []);
    const loopback = addresses.length > 0 && addresses.every((a) => a.address.startsWith('127.') || a.address === '::1');
    if (!loopback) {
      console.warn(`skipping: ${host} does not resolve to loopback here`);
      return;
    }
    const { convert } = converterFor({ OUTBOUND_ALLOW_HOSTS: undefined });
    const before = site.requests.get('/good/3') ?? 0;
    await expectPermanent(convert(job(`http://${host}:${site.port}/good/3`)), CONVERSION_ERRORS.blockedTarget, /resolves to .*loopback/);
    expect(site.requests.get('/good/3') ?? 0).toBe(before);
    // The same name is reachable once it is allowed.
    const allowed = converterFor({ OUTBOUND_ALLOW_HOSTS: host });
    expect((await allowed.convert(job(`http://${host}:${site.port}/good/3`))).title).toBe(goodPageTitle(3));
  });

  test('a redirect from an allowed host to a private address is refused on that hop', async () => {
    const { convert } = converterFor({ OUTBOUND_ALLOW_HOSTS: 'localhost' });
    const viaLocalhost = `http://localhost:${site.port}`;
    // Allowed host works...
    expect((await convert(job(`${viaLocalhost}/good/4`))).title).toBe(goodPageTitle(4));
    // ...but its redirect to 127.0.0.1 (not allowed) is refused before the second request.
    const before = site.requests.get('/good/1') ?? 0;
    await expectPermanent(convert(job(`${viaLocalhost}/redirect-to-ip`)), CONVERSION_ERRORS.blockedTarget, /refused target 127\.0\.0\.1/);
    const metadata = `${viaLocalhost}/redirect-to?url=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`;
    await expectPermanent(convert(job(metadata)), CONVERSION_ERRORS.blockedTarget, /169\.254\.169\.254/);
    expect(site.requests.get('/good/1') ?? 0).toBe(before);
  });
});

describe('cancellation', () => {
  test('Temporal activity cancellation aborts an in-flight fetch with a CancelledFailure', async () => {
    const { convert } = converterFor({ FETCH_TIMEOUT: '60s' });
    const env = new MockActivityEnvironment();
    const path = `/slow`;
    const before = site.requests.get(path) ?? 0;
    const running = env.run(() => convert({ ...job(site.url(path)), signal: Context.current().cancellationSignal }));
    const outcome = running.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await waitFor(() => (site.requests.get(path) ?? 0) > before, 'the slow request to reach the site', 10_000);
    env.cancel();
    const err = await outcome;
    expect(err).toBeInstanceOf(CancelledFailure);
  });

  test('an already-aborted signal stops before any request', async () => {
    const { convert } = converterFor();
    const controller = new AbortController();
    controller.abort(new CancelledFailure('stop'));
    const before = site.requests.get('/good/5') ?? 0;
    await expect(convert({ ...job(site.url('/good/5')), signal: controller.signal })).rejects.toBeInstanceOf(CancelledFailure);
    expect(site.requests.get('/good/5') ?? 0).toBe(before);
  });
});
