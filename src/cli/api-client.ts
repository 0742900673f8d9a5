import { errors as undiciErrors, request } from 'undici';
import type { Readable } from 'node:stream';
import { CliError, EXIT, ExitCode } from './exit-codes';

/** Largest JSON answer the CLI reads (a page of jobs or failures is far smaller). */
const MAX_JSON_BYTES = 32 * 1024 * 1024;

export interface ApiClientOptions {
  baseUrl: string;
  apiKey?: string;
  /** Per request: time to the response headers, and between body chunks. */
  timeoutMs: number;
}

interface ApiErrorBody {
  error?: { code?: string; message?: string; fields?: { field: string; message: string }[] };
}

function exitCodeForHttp(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status >= 500) return EXIT.unavailable;
  return EXIT.rejected;
}

/** The API's error answer as one line a person can act on. */
function describeHttpError(method: string, path: string, status: number, body: ApiErrorBody | undefined, hasKey: boolean): string {
  const e = body?.error;
  let message = e?.message ?? `HTTP ${status}`;
  if (e?.fields?.length && !e.fields.every((f) => message.includes(f.message)))
    message += ` (${e.fields.map((f) => `${f.field}: ${f.message}`).join('; ')})`;
  if (status === 401 && !hasKey) message += '; set DURABLE_JOBS_API_KEY or pass --api-key';
  if (status === 404 && e?.message?.startsWith('no route for'))
    message += ' — this API does not offer that yet (is it an older version than this CLI?)';
  return `${method} ${path}: ${status} ${message}`;
}

/** The durable-jobs HTTP API over undici: JSON in and out, every failure a CliError with its exit status. */
export class ApiClient {
  constructor(private readonly o: ApiClientOptions) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { accept: 'application/json', ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}), ...extra };
  }

  private url(path: string): string {
    return `${this.o.baseUrl.replace(/\/+$/, '')}${path}`;
  }

  private async send(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    opts: { body?: unknown; headers?: Record<string, string>; bodyTimeoutMs?: number } = {},
  ) {
    try {
      return await request(this.url(path), {
        method,
        headers: this.headers({ ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers }),
        body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
        headersTimeout: this.o.timeoutMs,
        bodyTimeout: opts.bodyTimeoutMs ?? this.o.timeoutMs,
      });
    } catch (e) {
      const err = e as Error & { code?: string; cause?: { code?: string } };
      if (err instanceof undiciErrors.InvalidArgumentError) throw new CliError(`bad API URL ${this.o.baseUrl}: ${err.message}`, EXIT.usage);
      const timedOut = err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError;
      const why = timedOut ? `no answer within ${this.o.timeoutMs} ms` : (err.cause?.code ?? err.code ?? err.message);
      throw new CliError(`cannot reach the API at ${this.o.baseUrl} (${why}); set DURABLE_JOBS_URL or pass --url`, EXIT.unavailable);
    }
  }

  private async readJson(body: Readable & { text(): Promise<string> }): Promise<unknown> {
    let bytes = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of body) {
      bytes += (chunk as Buffer).length;
      if (bytes > MAX_JSON_BYTES) {
        body.destroy();
        throw new CliError(`the API answered more than ${MAX_JSON_BYTES / 1024 / 1024} MB`, EXIT.error);
      }
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return { error: { message: text.slice(0, 300).trim() } };
    }
  }

  /** Sends a request and answers the parsed JSON body of a 2xx. */
  async json<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    opts: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const res = await this.send(method, path, opts);
    const body = await this.readJson(res.body);
    if (res.statusCode >= 200 && res.statusCode < 300) return body as T;
    throw new CliError(
      describeHttpError(method, path, res.statusCode, body as ApiErrorBody, !!this.o.apiKey),
      exitCodeForHttp(res.statusCode),
      body,
    );
  }

  /** A GET whose body is read as a stream (logs); `follow` waits for the body as long as it stays open. Non-2xx answers throw like `json`. */
  async stream(path: string, accept: string, follow = false): Promise<{ contentType: string; body: Readable }> {
    const res = await this.send('GET', path, { headers: { accept }, bodyTimeoutMs: follow ? 0 : undefined });
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const body = await this.readJson(res.body);
      throw new CliError(
        describeHttpError('GET', path, res.statusCode, body as ApiErrorBody, !!this.o.apiKey),
        exitCodeForHttp(res.statusCode),
        body,
      );
    }
    return { contentType: String(res.headers['content-type'] ?? ''), body: res.body };
  }
}

export const jobPath = (jobId: string, suffix = '') => `/api/v1/jobs/${encodeURIComponent(jobId)}${suffix}`;
