import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { ProviderHttpError } from '../../video-generation/providers/errors';

export { ProviderHttpError };
import { BlockedTargetError, checkUrl, guardedLookup, OutboundPolicy } from '../../../net/ssrf-guard';

// HTTP for the provider clients: JSON calls and streamed downloads, every connection through
// the SSRF guard (the configured provider host is allowed by the caller's policy), timeouts,
// redirects followed for downloads only, and credentials never sent to another origin.

const MAX_JSON_BYTES = 2 * 1024 * 1024;
const MAX_RETRY_AFTER_MS = 10 * 60_000;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface HttpOptions {
  policy: OutboundPolicy;
  /** Whole JSON call; for downloads, the longest silence between chunks. */
  timeoutMs: number;
  connectTimeoutMs: number;
  signal?: AbortSignal;
}

/** A provider answered with a non-2xx status. */
/** The provider could not be reached or the connection broke. */
export class ProviderNetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderNetworkError';
  }
}

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  /** A buffer, or a stream of known length (uploads). */
  body?: Buffer | { stream: Readable; length: number };
}

export async function callJson(spec: RequestSpec, options: HttpOptions): Promise<unknown> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const res = await send(spec, options, signal);
  const text = (await readCapped(res, MAX_JSON_BYTES, spec.url)).toString('utf8');
  if (res.statusCode! < 200 || res.statusCode! > 299) throw httpError(res, text, spec.url);
  if (!text.trim()) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProviderHttpError(502, `${new URL(spec.url).host} answered ${spec.method} ${new URL(spec.url).pathname} with a body that is not JSON`, 'bad_response', undefined);
  }
}

export interface OpenedDownload {
  body: http.IncomingMessage;
  contentType: string;
  contentLength?: number;
}

/** GET that follows up to 5 redirects; the body is left to the caller to stream. */
export async function openDownload(url: string, headers: Record<string, string>, options: HttpOptions): Promise<OpenedDownload> {
  let current = url;
  const origin = new URL(url).origin;
  for (let hop = 0; hop <= 5; hop++) {
    // Credentials go only to the provider's own origin, never to a CDN it redirects to.
    const sameOrigin = new URL(current).origin === origin;
    const res = await send({ method: 'GET', url: current, headers: sameOrigin ? headers : {} }, options, options.signal, options.timeoutMs);
    const status = res.statusCode ?? 0;
    if (REDIRECTS.has(status) && res.headers.location) {
      res.resume();
      current = new URL(res.headers.location, current).href;
      continue;
    }
    if (status < 200 || status > 299) throw httpError(res, (await readCapped(res, 64 * 1024, current)).toString('utf8'), current);
    const length = Number(res.headers['content-length']);
    return { body: res, contentType: String(res.headers['content-type'] ?? 'application/octet-stream'), contentLength: Number.isFinite(length) ? length : undefined };
  }
  throw new ProviderNetworkError(`too many redirects downloading ${url}`);
}

function send(spec: RequestSpec, options: HttpOptions, signal: AbortSignal | undefined, idleTimeoutMs?: number): Promise<http.IncomingMessage> {
  let target: URL;
  try {
    target = checkUrl(spec.url, options.policy);
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise((resolve, reject) => {
    const isHttps = target.protocol === 'https:';
    const req = (isHttps ? https : http).request(target, {
      method: spec.method,
      agent: false,
      lookup: guardedLookup(options.policy),
      signal,
      headers: { ...spec.headers, ...(spec.body ? { 'Content-Length': String(spec.body.length) } : {}) },
    });
    req.once('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => req.destroy(new ProviderNetworkError(`could not connect to ${target.host} within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
      socket.once(isHttps ? 'secureConnect' : 'connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    if (idleTimeoutMs) req.setTimeout(idleTimeoutMs, () => req.destroy(new ProviderNetworkError(`no data from ${target.host} for ${idleTimeoutMs} ms`)));
    req.once('response', resolve);
    req.once('error', (err: NodeJS.ErrnoException) => reject(toNetworkError(err, spec, signal)));
    if (spec.body && !Buffer.isBuffer(spec.body)) {
      spec.body.stream.once('error', (e) => req.destroy(e));
      spec.body.stream.pipe(req);
    } else req.end(spec.body);
  });
}

function toNetworkError(err: NodeJS.ErrnoException, spec: RequestSpec, signal: AbortSignal | undefined): Error {
  if (err instanceof ProviderNetworkError || err instanceof BlockedTargetError) return err;
  const where = `${spec.method} ${new URL(spec.url).host}${new URL(spec.url).pathname}`;
  if (err.name === 'AbortError' || signal?.aborted) {
    const reason = signal?.reason as Error | undefined;
    return new ProviderNetworkError(reason?.name === 'TimeoutError' ? `${where} timed out` : `${where} was aborted`);
  }
  return new ProviderNetworkError(`${where} failed: ${err.message}${err.code ? ` (${err.code})` : ''}`);
}

function readCapped(res: http.IncomingMessage, max: number, url: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        res.destroy();
        reject(new ProviderNetworkError(`response from ${new URL(url).host} exceeds ${max} bytes`));
      } else chunks.push(c);
    });
    res.once('end', () => resolve(Buffer.concat(chunks)));
    res.once('error', (e) => reject(new ProviderNetworkError(`reading the response from ${new URL(url).host} failed: ${e.message}`)));
  });
}

/** Reads the provider's own message and code from OpenAI-, Google- or JSON:API-style (App Store Connect) error bodies. */
function httpError(res: http.IncomingMessage, text: string, url: string): ProviderHttpError {
  const status = res.statusCode ?? 0;
  let message: string | undefined;
  let code: string | undefined;
  let retryDelay: string | undefined;
  try {
    const body = JSON.parse(text) as {
      error?: { message?: unknown; code?: unknown; status?: unknown; details?: { retryDelay?: string }[] };
      errors?: { code?: unknown; title?: unknown; detail?: unknown }[];
    };
    const first = body.errors?.[0];
    if (first) {
      message = [first.title, first.detail].filter((p) => typeof p === 'string' && p).join(' ') || undefined;
      if (typeof first.code === 'string') code = first.code;
    }
    const err = body.error;
    if (typeof err?.message === 'string') message = err.message;
    if (typeof err?.code === 'string') code = err.code;
    else if (typeof err?.status === 'string') code = err.status;
    retryDelay = err?.details?.find((d) => typeof d?.retryDelay === 'string')?.retryDelay;
  } catch {
    // not JSON: fall back to the status line
  }
  const retryAfterMs = parseRetryAfter(res.headers['retry-after']) ?? parseGoogleDelay(retryDelay);
  return new ProviderHttpError(status, message ?? `HTTP ${status} from ${new URL(url).host}${text ? `: ${text.slice(0, 200)}` : ''}`, code, retryAfterMs);
}

/** Retry-After in seconds or as an HTTP date, in ms, capped. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  const ms = /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : Date.parse(v) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(Math.round(ms), 0), MAX_RETRY_AFTER_MS);
}

function parseGoogleDelay(value: string | undefined): number | undefined {
  const m = value ? /^(\d+(?:\.\d+)?)s$/.exec(value) : null;
  return m ? Math.min(Math.round(Number(m[1]) * 1000), MAX_RETRY_AFTER_MS) : undefined;
}
