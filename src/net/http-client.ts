import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent, errors, request } from 'undici';
import { AbortWatch } from '../shared/abort-watch';
import { BlockedTargetError, checkUrl, guardedLookup, OutboundPolicy } from './ssrf-guard';

// The one outbound HTTP client (page fetches, webhooks, video providers, app stores), on
// undici. Every connection goes through the SSRF guard twice: the URL (scheme, port, IP
// literal) before each request and redirect hop, and the resolved address in the agent's
// connect-time DNS lookup, so a name cannot rebind to a private address between check and
// connect. Each request has a deadline (or, for downloads, an idle timeout on the body), takes
// the caller's AbortSignal, and bodies are read up to a byte cap; uploads stream from a file.

export type OutboundFailureKind =
  | 'invalid-url'
  | 'blocked'
  | 'http-status'
  | 'unsupported-content'
  | 'too-large'
  | 'too-many-redirects'
  | 'timeout'
  | 'network'
  | 'aborted';

/** Why an outbound request failed; callers map `kind` to their own error types. */
export class OutboundError extends Error {
  constructor(
    readonly kind: OutboundFailureKind,
    message: string,
    readonly url: string,
    readonly details: { status?: number; retryAfterMs?: number; code?: string } = {},
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

/** A request body: bytes, or a stream of known length (uploads), sent once and never replayed. */
export type OutboundBody = string | Buffer | { stream: Readable; length: number };

export interface OutboundRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: OutboundBody;
  policy: OutboundPolicy;
  /** Per connection: DNS, TCP and TLS. */
  connectTimeoutMs: number;
  /** The whole exchange: connecting, every redirect hop, the headers and reading the body. */
  timeoutMs: number;
  /** Downloads: `timeoutMs` then ends at the headers, and the body may stream as long as data keeps coming at least this often. */
  idleTimeoutMs?: number;
  /** Redirects to follow; with 0 (the default), or with a streamed body, a 3xx comes back as the response. */
  maxRedirects?: number;
  /** Headers (credentials) sent only while the request stays on this origin. */
  credentials?: { origin: string; headers: Record<string, string> };
  signal?: AbortSignal;
}

export interface OutboundResponse {
  /** Where the response finally came from, after redirects. */
  url: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
  /** Every URL redirected through, in order (not including the final one). */
  redirects: string[];
  /** Turns an error met while reading `body` into an OutboundError. */
  failure(err: unknown): OutboundError;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Small error and redirect bodies are drained so the connection can be reused. */
const DRAIN_LIMIT = 64 * 1024;

/** Sends one request, following redirects if asked; the body is left for the caller to read. */
export async function sendRequest(rawUrl: string, options: OutboundRequest): Promise<OutboundResponse> {
  const exchange = new Exchange(options);
  let method = options.method ?? 'GET';
  const streamed = isStreamBody(options.body) ? options.body : undefined;
  let body: string | Buffer | Readable | undefined = streamed ? streamed.stream : (options.body as string | Buffer | undefined);
  // A streamed body's length goes in Content-Length (undici would otherwise send it chunked).
  const lengthHeader = streamed ? { 'content-length': String(streamed.length) } : {};
  const redirects: string[] = [];
  let url: URL;
  try {
    url = exchange.guard(rawUrl, rawUrl);
    for (;;) {
      if (options.signal?.aborted) throw exchange.aborted(url.href);
      const sameOrigin = options.credentials && url.origin === options.credentials.origin;
      const res = await request(url, {
        method,
        headers: { ...options.headers, ...lengthHeader, ...(sameOrigin ? options.credentials!.headers : {}) },
        body,
        dispatcher: agentFor(options.policy, options.connectTimeoutMs),
        signal: exchange.signal,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.idleTimeoutMs ?? options.timeoutMs,
      }).catch((e: unknown) => {
        throw exchange.failure(e, url.href);
      });
      // A streamed body is consumed by the first request and cannot follow a redirect.
      const maxRedirects = streamed ? 0 : (options.maxRedirects ?? 0);
      const location = res.headers.location;
      if (maxRedirects > 0 && REDIRECT_STATUSES.has(res.statusCode) && typeof location === 'string') {
        discardBody(res.body, res.headers);
        redirects.push(url.href);
        if (redirects.length > maxRedirects)
          throw new OutboundError('too-many-redirects', `more than ${maxRedirects} redirects (started at ${rawUrl})`, url.href);
        const next = exchange.guard(location, url.href);
        if (next.href === url.href || redirects.includes(next.href))
          throw new OutboundError('too-many-redirects', `redirect loop: ${url.href} → ${next.href}`, url.href);
        // As browsers do: a 303, or a 301/302 after a POST, continues as a GET without the body.
        if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
        }
        url = next;
        continue;
      }
      if (options.idleTimeoutMs !== undefined) exchange.endDeadline();
      res.body.once('close', () => exchange.done());
      return {
        url: url.href,
        status: res.statusCode,
        headers: res.headers,
        body: res.body,
        redirects,
        failure: (err) => exchange.failure(err, url.href),
      };
    }
  } catch (e) {
    exchange.done();
    // An upload that never started (blocked, refused) must not keep its file open.
    streamed?.stream.destroy();
    throw e;
  }
}

/**
 * Reads a body up to `maxBytes`, stopping the moment the cap is passed instead of buffering
 * the rest. `stream` is `res.body` or a transform of it (a decompressor), whose own errors
 * `streamFailure` explains.
 */
export function readCapped(stream: Readable, maxBytes: number, res: OutboundResponse, streamFailure = res.failure): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: OutboundError) => {
      if (settled) return;
      settled = true;
      dropBody(res.body);
      if (stream !== res.body) stream.destroy();
      reject(err);
    };
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return fail(tooLarge(res.url, maxBytes));
      chunks.push(chunk);
    });
    stream.once('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    stream.once('error', (err) => fail(streamFailure(err)));
    if (stream !== res.body) res.body.once('error', (err) => fail(res.failure(err)));
  });
}

export function tooLarge(url: string, maxBytes: number): OutboundError {
  return new OutboundError('too-large', `the response from ${url} is larger than the ${maxBytes}-byte limit`, url);
}

/** Drops a body we will not use: small ones are drained so the socket can be reused. */
export function discardBody(body: Readable, headers: IncomingHttpHeaders): void {
  const length = Number(headers['content-length']);
  if (Number.isFinite(length) && length <= DRAIN_LIMIT) {
    body.on('error', () => {});
    body.resume();
  } else {
    dropBody(body);
  }
}

function isStreamBody(body: OutboundBody | undefined): body is { stream: Readable; length: number } {
  return typeof body === 'object' && !Buffer.isBuffer(body);
}

/** Closes a body without reading it (undici reports that as an abort error nobody needs to hear). */
export function dropBody(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

/** The first value of a header, or ''. */
export function headerValue(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

// One keep-alive pool per policy: a socket opened under a permissive policy must never be
// reused for a request made under a stricter one (the guard runs when a socket connects).
const agents = new Map<string, Agent>();
/** The pool key of each policy seen (policies are never changed after use): callers reuse one for many requests. */
const policyKeys = new WeakMap<OutboundPolicy, string>();

function keyOf(policy: OutboundPolicy): string {
  let policyKey = policyKeys.get(policy);
  if (policyKey === undefined) policyKeys.set(policy, (policyKey = [...policy.allowHosts].sort().join(',')));
  return policyKey;
}

function agentFor(policy: OutboundPolicy, connectTimeoutMs: number): Agent {
  const key = `${keyOf(policy)}|${connectTimeoutMs}`;
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({
      connect: { timeout: connectTimeoutMs, lookup: guardedLookup(policy) },
      // Idle sockets close after 4 s, before the common 5 s server keep-alive timeout.
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 4_000,
    });
    agents.set(key, agent);
  }
  return agent;
}

/** Closes pooled connections: all of them (process shutdown and tests), or those made under `policy`. */
export async function closeOutboundAgents(policy?: OutboundPolicy): Promise<void> {
  const prefix = policy ? `${keyOf(policy)}|` : '';
  const closing = [...agents].filter(([key]) => key.startsWith(prefix));
  for (const [key] of closing) agents.delete(key);
  await Promise.all(closing.map(([, agent]) => agent.destroy()));
}

/**
 * What undici listens on to abort one request: an emitter (undici takes one as its `signal`),
 * which costs far less per request than an AbortController and its EventTarget listeners.
 */
class RequestAbort extends EventEmitter {
  aborted = false;
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

/** The exchanges in flight under each caller's signal: one listener per signal, not one per request. */
const callerAborts = new AbortWatch<RequestAbort>((abort) => abort.abort());

/** One request's deadline and cancellation, and how its errors read. */
class Exchange {
  readonly signal = new RequestAbort();
  private readonly timer: NodeJS.Timeout;
  private timedOut = false;

  constructor(private readonly options: OutboundRequest) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.signal.abort();
    }, options.timeoutMs);
    if (options.signal?.aborted) this.signal.abort();
    else if (options.signal) callerAborts.add(options.signal, this.signal);
  }

  endDeadline(): void {
    clearTimeout(this.timer);
  }

  done(): void {
    clearTimeout(this.timer);
    if (this.options.signal) callerAborts.delete(this.options.signal, this.signal);
  }

  guard(location: string, base: string): URL {
    let resolved: string;
    try {
      resolved = new URL(location, base).href;
    } catch {
      throw new OutboundError('invalid-url', `"${location}" is not a valid URL`, base);
    }
    try {
      return checkUrl(resolved, this.options.policy);
    } catch (e) {
      if (e instanceof BlockedTargetError) throw new OutboundError('blocked', e.message, resolved);
      throw e;
    }
  }

  aborted(url: string): OutboundError {
    return new OutboundError('aborted', `the request to ${url} was cancelled`, url);
  }

  failure(err: unknown, url: string): OutboundError {
    if (err instanceof OutboundError) return err;
    if (this.options.signal?.aborted) return this.aborted(url);
    const timeout = () => new OutboundError('timeout', `timed out after ${this.options.timeoutMs} ms requesting ${url}`, url);
    if (this.timedOut) return timeout();
    const e = err as NodeJS.ErrnoException & { cause?: unknown };
    const blocked = e instanceof BlockedTargetError ? e : e?.cause instanceof BlockedTargetError ? e.cause : undefined;
    if (blocked) return new OutboundError('blocked', blocked.message, url);
    if (e instanceof errors.ConnectTimeoutError) {
      return new OutboundError('timeout', `could not connect to ${new URL(url).host} within ${this.options.connectTimeoutMs} ms`, url);
    }
    if (e instanceof errors.HeadersTimeoutError) return timeout();
    if (e instanceof errors.BodyTimeoutError) {
      return new OutboundError(
        'timeout',
        `no data from ${new URL(url).host} for ${this.options.idleTimeoutMs ?? this.options.timeoutMs} ms`,
        url,
      );
    }
    const code = e?.code ?? (e?.cause as NodeJS.ErrnoException | undefined)?.code ?? 'UNKNOWN';
    const cause = e?.cause instanceof Error ? e.cause.message : '';
    const what =
      code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? `host ${new URL(url).hostname} not found`
        : [e?.message, cause].filter(Boolean).join(': ');
    return new OutboundError('network', `network error requesting ${url}: ${what} (${code})`, url, { code });
  }
}
