import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { BlockedTargetError, checkUrl, guardedLookup, OutboundPolicy } from './ssrf-guard';

// Fetches one HTML page from an untrusted URL: SSRF guard on the first URL and on every
// redirect hop, connect and total timeouts, a body cap enforced while the body streams
// (after decompression, so a small gzip bomb cannot blow past it), HTML content types
// only, and the page decoded with its declared charset. Knows nothing about Temporal:
// callers map `FetchFailure.kind` to their own error types.

export const HTML_CONTENT_TYPES = ['text/html', 'application/xhtml+xml'] as const;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_RETRY_AFTER_MS = 5 * 60_000;
const USER_AGENT = 'durable-jobs/0.1 (+https://github.com/temporalio; page converter)';

export type FetchFailureKind =
  | 'invalid-url'
  | 'blocked'
  | 'http-status'
  | 'unsupported-content'
  | 'too-large'
  | 'too-many-redirects'
  | 'timeout'
  | 'network'
  | 'aborted';

export class FetchFailure extends Error {
  constructor(
    readonly kind: FetchFailureKind,
    message: string,
    readonly url: string,
    readonly details: { status?: number; retryAfterMs?: number; code?: string } = {},
  ) {
    super(message);
    this.name = 'FetchFailure';
  }
}

export interface FetchHtmlOptions {
  policy: OutboundPolicy;
  /** Whole fetch, all redirect hops and the body included. */
  timeoutMs: number;
  /** Per connection attempt (DNS + TCP + TLS). */
  connectTimeoutMs: number;
  /** Cap on the decoded body. */
  maxBytes: number;
  maxRedirects?: number;
  signal?: AbortSignal;
}

export interface FetchedHtml {
  /** Where the page finally came from, after redirects. */
  url: string;
  status: number;
  contentType: string;
  charset: string;
  html: string;
  /** Decompressed body size. */
  bytes: number;
  /** Every URL redirected through, in order (not including the final one). */
  redirects: string[];
}

/** Fetches an HTML page, following at most `maxRedirects` (default 5) redirects. */
export async function fetchHtml(rawUrl: string, options: FetchHtmlOptions): Promise<FetchedHtml> {
  const maxRedirects = options.maxRedirects ?? 5;
  let url = guard(rawUrl, rawUrl, options.policy);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), options.timeoutMs);
  const onAbort = () => deadline.abort();
  if (options.signal) {
    // Many concurrent fetches share one cancellation signal (a chunk activity's); each
    // removes its listener when done, so a high count is expected, not a leak.
    setMaxListeners(0, options.signal);
    options.signal.addEventListener('abort', onAbort, { once: true });
  }
  const redirects: string[] = [];
  try {
    for (;;) {
      if (options.signal?.aborted) throw aborted(url.href);
      const response = await requestOnce(url, options, deadline.signal);
      if (REDIRECT_STATUSES.has(response.status)) {
        discard(response);
        const location = response.headers.location;
        if (!location) throw new FetchFailure('http-status', `HTTP ${response.status} redirect without a Location header from ${url.href}`, url.href, { status: response.status });
        redirects.push(url.href);
        if (redirects.length > maxRedirects) throw new FetchFailure('too-many-redirects', `more than ${maxRedirects} redirects (started at ${rawUrl})`, url.href);
        const next = guard(location, url.href, options.policy);
        if (next.href === url.href || redirects.includes(next.href)) throw new FetchFailure('too-many-redirects', `redirect loop: ${url.href} → ${next.href}`, url.href);
        url = next;
        continue;
      }
      if (response.status < 200 || response.status > 299) {
        discard(response);
        throw new FetchFailure('http-status', `HTTP ${response.status} from ${url.href}`, url.href, {
          status: response.status,
          retryAfterMs: parseRetryAfter(response.headers['retry-after']),
        });
      }
      return { ...(await readHtml(url, response, options, deadline.signal)), redirects };
    }
  } catch (e) {
    if (options.signal?.aborted) throw aborted(url.href);
    if (deadline.signal.aborted && !(e instanceof FetchFailure && e.kind !== 'network')) {
      throw new FetchFailure('timeout', `timed out after ${options.timeoutMs} ms fetching ${url.href}`, url.href);
    }
    throw e;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Drops a response we will not read: small bodies are drained so the socket can be reused. */
function discard(response: RawResponse): void {
  const length = Number(response.headers['content-length']);
  if (Number.isFinite(length) && length <= 64 * 1024) {
    response.body.on('error', () => {});
    response.body.resume();
  } else {
    response.body.destroy();
  }
}

function aborted(url: string): FetchFailure {
  return new FetchFailure('aborted', `fetch of ${url} was cancelled`, url);
}

function guard(location: string, base: string, policy: OutboundPolicy): URL {
  let resolved: string;
  try {
    resolved = new URL(location, base).href;
  } catch {
    throw new FetchFailure('invalid-url', `"${location}" is not a valid URL`, base);
  }
  try {
    return checkUrl(resolved, policy);
  } catch (e) {
    if (e instanceof BlockedTargetError) throw new FetchFailure('blocked', e.message, resolved);
    throw e;
  }
}

// One keep-alive pool per policy: a socket opened under a permissive policy must never be
// reused for a request made under a stricter one (the guard runs at connect time).
const agents = new Map<string, { http: http.Agent; https: https.Agent }>();
function agentsFor(policy: OutboundPolicy) {
  const key = [...policy.allowHosts].sort().join(',');
  let pair = agents.get(key);
  if (!pair) {
    // Idle sockets close after 4 s, before the common 5 s server keep-alive timeout.
    const common = { keepAlive: true, maxFreeSockets: 256, timeout: 4000, scheduling: 'lifo' as const };
    pair = { http: new http.Agent(common), https: new https.Agent(common) };
    agents.set(key, pair);
  }
  return pair;
}

/** Closes pooled sockets (for process shutdown and tests). */
export function closeFetchAgents(): void {
  for (const pair of agents.values()) {
    pair.http.destroy();
    pair.https.destroy();
  }
  agents.clear();
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

async function requestOnce(url: URL, options: FetchHtmlOptions, signal: AbortSignal, isRetry = false): Promise<RawResponse> {
  try {
    return await new Promise<RawResponse>((resolve, reject) => {
      const pair = agentsFor(options.policy);
      const isHttps = url.protocol === 'https:';
      const req = (isHttps ? https : http).request(url, {
        method: 'GET',
        agent: isHttps ? pair.https : pair.http,
        lookup: guardedLookup(options.policy),
        signal,
        headers: {
          'User-Agent': USER_AGENT,
          Accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.1',
          'Accept-Encoding': 'gzip, deflate, br',
        },
      });
      req.once('socket', (socket) => {
        if (!socket.connecting) return;
        const connectTimer = setTimeout(() => {
          req.destroy(new FetchFailure('timeout', `could not connect to ${url.host} within ${options.connectTimeoutMs} ms`, url.href));
        }, options.connectTimeoutMs);
        socket.once(isHttps ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
        socket.once('close', () => clearTimeout(connectTimer));
      });
      req.once('response', (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }));
      req.once('error', (err) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })));
      req.end();
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { reusedSocket?: boolean };
    // A pooled socket the server closed just as we reused it: the request never reached
    // the server, so sending it again on a fresh socket is safe (Node's documented pattern).
    if (!isRetry && err.reusedSocket && err.code === 'ECONNRESET' && !signal.aborted) return requestOnce(url, options, signal, true);
    throw toFetchFailure(err, url);
  }
}

function toFetchFailure(err: NodeJS.ErrnoException, url: URL): Error {
  if (err instanceof FetchFailure) return err;
  if (err instanceof BlockedTargetError) return new FetchFailure('blocked', err.message, url.href);
  if (err.name === 'AbortError') return err; // turned into timeout/aborted by fetchHtml
  const code = err.code ?? 'UNKNOWN';
  const what = code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? `host ${url.hostname} not found` : err.message;
  return new FetchFailure('network', `network error fetching ${url.href}: ${what} (${code})`, url.href, { code });
}

async function readHtml(url: URL, response: RawResponse, options: FetchHtmlOptions, signal: AbortSignal): Promise<Omit<FetchedHtml, 'redirects'>> {
  const rawType = headerValue(response.headers['content-type']);
  const mediaType = rawType.split(';')[0].trim().toLowerCase();
  if (!(HTML_CONTENT_TYPES as readonly string[]).includes(mediaType)) {
    response.body.destroy();
    throw new FetchFailure('unsupported-content', `unsupported content type "${mediaType || 'none'}" at ${url.href}; expected ${HTML_CONTENT_TYPES.join(' or ')}`, url.href);
  }
  const declaredLength = Number(response.headers['content-length']);
  const encoding = headerValue(response.headers['content-encoding']).trim().toLowerCase() || 'identity';
  if (declaredLength > options.maxBytes) {
    response.body.destroy();
    throw tooLarge(url, options.maxBytes);
  }
  const body = await readCapped(decoded(response.body, encoding, url), options.maxBytes, url, signal, response.body);
  const charset = charsetOf(rawType, body);
  return { url: url.href, status: response.status, contentType: mediaType, charset, html: decode(body, charset), bytes: body.length };
}

function headerValue(v: string | string[] | undefined): string {
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

function tooLarge(url: URL, maxBytes: number): FetchFailure {
  return new FetchFailure('too-large', `page at ${url.href} is larger than the ${maxBytes}-byte limit`, url.href);
}

function decoded(body: http.IncomingMessage, encoding: string, url: URL): Readable {
  switch (encoding) {
    case 'identity':
      return body;
    case 'gzip':
    case 'x-gzip':
    case 'deflate': // zlib-wrapped in practice; createUnzip detects gzip vs zlib headers
      return body.pipe(zlib.createUnzip());
    case 'br':
      return body.pipe(zlib.createBrotliDecompress());
    default:
      body.destroy();
      throw new FetchFailure('unsupported-content', `unsupported Content-Encoding "${encoding}" at ${url.href}`, url.href);
  }
}

function readCapped(stream: Readable, maxBytes: number, url: URL, signal: AbortSignal, source: http.IncomingMessage): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = () => {
      settled = true;
      signal.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error) => {
      if (settled) return;
      settle();
      source.destroy();
      if (stream !== source) stream.destroy();
      reject(err);
    };
    const onAbort = () => fail(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Stop reading the moment the cap is passed instead of buffering the rest.
      if (size > maxBytes) return fail(tooLarge(url, maxBytes));
      chunks.push(chunk);
    });
    stream.once('end', () => {
      if (settled) return;
      settle();
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    source.on('error', (err: NodeJS.ErrnoException) => fail(toFetchFailure(err, url)));
    if (stream !== source) {
      stream.on('error', (err) => fail(new FetchFailure('unsupported-content', `could not decompress the page at ${url.href}: ${err.message}`, url.href)));
    }
    // The server hung up before sending the whole body.
    source.once('close', () => {
      if (!source.complete) fail(new FetchFailure('network', `connection closed while reading ${url.href}`, url.href, { code: 'ECONNRESET' }));
    });
  });
}

/** Charset from the Content-Type header, else a BOM, else a <meta> in the first 4 KB, else utf-8. */
export function charsetOf(contentType: string, body: Buffer): string {
  const fromHeader = /charset\s*=\s*["']?([\w.:-]+)/i.exec(contentType)?.[1];
  if (fromHeader) return normalizeCharset(fromHeader);
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) return 'utf-8';
  if (body[0] === 0xff && body[1] === 0xfe) return 'utf-16le';
  if (body[0] === 0xfe && body[1] === 0xff) return 'utf-16be';
  const head = body.subarray(0, 4096).toString('latin1');
  const fromMeta =
    /<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head)?.[1] ?? /<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)/i.exec(head)?.[1];
  return fromMeta ? normalizeCharset(fromMeta) : 'utf-8';
}

function normalizeCharset(label: string): string {
  const l = label.trim().toLowerCase();
  try {
    return new TextDecoder(l).encoding;
  } catch {
    return 'utf-8'; // unknown label: browsers fall back too
  }
}

function decode(body: Buffer, charset: string): string {
  return new TextDecoder(charset).decode(body);
}

/** Retry-After as seconds or an HTTP date, in ms, capped; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = headerValue(value).trim();
  if (!v) return undefined;
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}
