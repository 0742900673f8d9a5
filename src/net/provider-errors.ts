import type { IncomingHttpHeaders } from 'node:http';
import { parseRetryAfter, parseRetryDelay } from './retry-after';

/** A provider answered with a non-2xx status. */
export class ProviderHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The provider's error code (OpenAI `error.code`, Google `error.status`). */
    readonly code: string | undefined,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
    this.name = 'ProviderHttpError';
  }
}

/** Reads the provider's own message and code from OpenAI-, Google- or JSON:API-style (App Store Connect) error bodies. */
export function providerHttpError(status: number, headers: IncomingHttpHeaders, text: string, url: string): ProviderHttpError {
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
  const retryAfterMs = parseRetryAfter(headers['retry-after']) ?? parseRetryDelay(retryDelay);
  return new ProviderHttpError(
    status,
    message ?? `HTTP ${status} from ${new URL(url).host}${text ? `: ${text.slice(0, 200)}` : ''}`,
    code,
    retryAfterMs,
  );
}
