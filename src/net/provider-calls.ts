import type { Readable } from 'node:stream';
import { OutboundBody, OutboundRequest, readCapped, sendRequest } from './http-client';
import type { OutboundPolicy } from './ssrf-guard';
import { providerHttpError, ProviderHttpError } from './provider-errors';

/** A provider's file, streaming. */
export interface ProviderDownload {
  body: Readable;
  contentType: string;
  contentLength?: number;
  /** Explains an error `body` emits (a stall, a dropped connection) as an OutboundError. */
  failure(err: unknown): Error;
}

// Provider calls over the outbound client (video providers, app stores): JSON calls with a
// whole-call timeout and a capped answer, and streamed downloads with an idle timeout. The API
// key travels only to the configured provider origin, never to an origin a response or a
// redirect names.

const MAX_JSON_BYTES = 2 * 1024 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;
const MAX_DOWNLOAD_REDIRECTS = 5;

export interface ProviderConnection {
  policy: OutboundPolicy;
  /** Whole JSON call; for downloads, the longest silence between chunks. */
  timeoutMs: number;
  connectTimeoutMs: number;
  /** The configured base URL's origin and the headers (API key) only it receives; absent when each call signs itself. */
  credentials?: { origin: string; headers: Record<string, string> };
}

export interface JsonCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** Bytes, or a stream of known length (uploads). */
  body?: OutboundBody;
  signal?: AbortSignal;
  /** This call's whole-exchange deadline when it differs from the connection's (large uploads). */
  timeoutMs?: number;
}

function requestOptions(c: ProviderConnection, call: Omit<JsonCall, 'url'>): OutboundRequest {
  return {
    ...c,
    method: call.method,
    headers: call.headers,
    body: call.body,
    signal: call.signal,
    timeoutMs: call.timeoutMs ?? c.timeoutMs,
  };
}

/** One JSON call: the parsed body on 2xx, else a ProviderHttpError with the provider's own words. */
export async function callJson(c: ProviderConnection, call: JsonCall): Promise<unknown> {
  const res = await sendRequest(call.url, requestOptions(c, call));
  const text = (await readCapped(res.body, MAX_JSON_BYTES, res)).toString('utf8');
  if (res.status < 200 || res.status > 299) throw providerHttpError(res.status, res.headers, text, res.url);
  if (!text.trim()) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const { host, pathname } = new URL(call.url);
    throw new ProviderHttpError(502, `${host} answered ${call.method} ${pathname} with a body that is not JSON`, 'bad_response', undefined);
  }
}

/** A GET that follows redirects; the body is left to the caller to stream. */
/**
 * JSON calls to one API base with a bearer token fetched per call (the token source caches):
 * `(method, path, body?)` sends `body` as JSON and answers the parsed response.
 */
export function bearerJsonCalls(
  c: ProviderConnection,
  o: { baseUrl: string; token: () => Promise<string>; headers?: Record<string, string>; signal?: AbortSignal },
) {
  const base = o.baseUrl.replace(/\/+$/, '');
  return async (method: JsonCall['method'], path: string, body?: unknown): Promise<unknown> => {
    const headers: Record<string, string> = { ...o.headers, Authorization: `Bearer ${await o.token()}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return callJson(c, {
      method,
      url: `${base}${path}`,
      headers,
      body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
      signal: o.signal,
    });
  };
}

export async function openDownload(c: ProviderConnection, url: string, signal?: AbortSignal): Promise<ProviderDownload> {
  const res = await sendRequest(url, {
    ...requestOptions(c, { method: 'GET', signal }),
    maxRedirects: MAX_DOWNLOAD_REDIRECTS,
    idleTimeoutMs: c.timeoutMs,
  });
  if (res.status < 200 || res.status > 299) {
    throw providerHttpError(res.status, res.headers, (await readCapped(res.body, MAX_ERROR_BYTES, res)).toString('utf8'), res.url);
  }
  const length = Number(res.headers['content-length']);
  return {
    body: res.body,
    contentType: String(res.headers['content-type'] ?? 'application/octet-stream'),
    contentLength: Number.isFinite(length) ? length : undefined,
    failure: res.failure,
  };
}
