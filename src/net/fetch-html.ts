import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { discardBody, dropBody, headerValue, OutboundError, OutboundResponse, readCapped, sendRequest, tooLarge } from './http-client';
import { parseRetryAfter } from './retry-after';
import type { OutboundPolicy } from './ssrf-guard';

// Fetches one HTML page from an untrusted URL through the outbound client: redirects
// followed (each hop guarded), the body capped after decompression (so a small gzip bomb
// cannot blow past it), HTML content types only, and the page decoded with its declared
// charset. Knows nothing about Temporal: callers map `OutboundError.kind` to their own errors.

export const HTML_CONTENT_TYPES = ['text/html', 'application/xhtml+xml'] as const;
const USER_AGENT = 'durable-jobs/0.1 (+https://github.com/temporalio; page converter)';

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
  const res = await sendRequest(rawUrl, {
    policy: options.policy,
    timeoutMs: options.timeoutMs,
    connectTimeoutMs: options.connectTimeoutMs,
    maxRedirects: options.maxRedirects ?? 5,
    signal: options.signal,
    headers: {
      'User-Agent': USER_AGENT,
      Accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.1',
      'Accept-Encoding': 'gzip, deflate, br',
    },
  });
  if (res.status < 200 || res.status > 299) {
    discardBody(res.body, res.headers);
    throw new OutboundError('http-status', `HTTP ${res.status} from ${res.url}`, res.url, {
      status: res.status,
      retryAfterMs: parseRetryAfter(res.headers['retry-after']),
    });
  }
  const rawType = headerValue(res.headers['content-type']);
  const mediaType = rawType.split(';')[0].trim().toLowerCase();
  if (!(HTML_CONTENT_TYPES as readonly string[]).includes(mediaType)) {
    dropBody(res.body);
    throw new OutboundError(
      'unsupported-content',
      `unsupported content type "${mediaType || 'none'}" at ${res.url}; expected ${HTML_CONTENT_TYPES.join(' or ')}`,
      res.url,
    );
  }
  if (Number(res.headers['content-length']) > options.maxBytes) {
    dropBody(res.body);
    throw pageTooLarge(res.url, options.maxBytes);
  }
  let body: Buffer;
  try {
    const failedDecoding = (err: unknown) =>
      new OutboundError('unsupported-content', `could not decompress the page at ${res.url}: ${(err as Error).message}`, res.url);
    const stream = decoded(res);
    body = await readCapped(stream, options.maxBytes, res, stream === res.body ? res.failure : failedDecoding);
  } catch (e) {
    throw e instanceof OutboundError && e.kind === 'too-large' ? pageTooLarge(res.url, options.maxBytes) : e;
  }
  const charset = charsetOf(rawType, body);
  return {
    url: res.url,
    status: res.status,
    contentType: mediaType,
    charset,
    html: decode(body, charset),
    bytes: body.length,
    redirects: res.redirects,
  };
}

function pageTooLarge(url: string, maxBytes: number): OutboundError {
  return Object.assign(tooLarge(url, maxBytes), { message: `page at ${url} is larger than the ${maxBytes}-byte limit` });
}

function decoded(res: OutboundResponse): Readable {
  const encoding = headerValue(res.headers['content-encoding']).trim().toLowerCase() || 'identity';
  const unpack = (decompressor: Readable & NodeJS.WritableStream) => res.body.pipe(decompressor);
  switch (encoding) {
    case 'identity':
      return res.body;
    case 'gzip':
    case 'x-gzip':
    case 'deflate': // zlib-wrapped in practice; createUnzip detects gzip vs zlib headers
      return unpack(zlib.createUnzip());
    case 'br':
      return unpack(zlib.createBrotliDecompress());
    default:
      dropBody(res.body);
      throw new OutboundError('unsupported-content', `unsupported Content-Encoding "${encoding}" at ${res.url}`, res.url);
  }
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

/** One decoder per charset: a non-streaming decode() keeps no state between pages. */
const decoders = new Map<string, InstanceType<typeof TextDecoder>>();

function decode(body: Buffer, charset: string): string {
  let decoder = decoders.get(charset);
  if (!decoder) decoders.set(charset, (decoder = new TextDecoder(charset)));
  return decoder.decode(body);
}
