import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppliedFault, EmulatedRoute, FaultBook } from './faults';
import type { EmulatedApi, GenerationStore } from './generations';
import { delay, sendJson } from './http-util';

/** What the route handlers of both emulated APIs share. */
export interface EmulatorContext {
  store: GenerationStore;
  faults: FaultBook;
  generationMs: number;
  /** OpenAI ignores Idempotency-Key on video creates; the emulator can do the same. */
  honourIdempotencyKey: boolean;
  /** Create attempts seen per prompt, for the [429:N] / [500:N] markers. */
  createAttempts: Map<string, number>;
  /** Origin clients reach the emulator at, e.g. http://127.0.0.1:4010. */
  origin(): string;
}

export type Handler = (ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void>;

/** Provider-style error bodies: OpenAI's {error:{message,type,param,code}}, Google's {error:{code,message,status}}. */
export function sendProviderError(
  res: ServerResponse,
  api: EmulatedApi,
  status: number,
  message: string,
  extra: { code?: string; param?: string; retryAfterSeconds?: number } = {},
): void {
  const headers: Record<string, string> = {};
  if (extra.retryAfterSeconds !== undefined) headers['Retry-After'] = String(extra.retryAfterSeconds);
  if (api === 'openai') {
    const type = status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error';
    sendJson(res, status, { error: { message, type, param: extra.param ?? null, code: extra.code ?? null } }, headers);
    return;
  }
  const details =
    extra.retryAfterSeconds !== undefined
      ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${extra.retryAfterSeconds}s` }]
      : undefined;
  sendJson(res, status, { error: { code: status, message, status: extra.code ?? googleStatus(status), details } }, headers);
}

function googleStatus(http: number): string {
  if (http === 400) return 'INVALID_ARGUMENT';
  if (http === 401) return 'UNAUTHENTICATED';
  if (http === 403) return 'PERMISSION_DENIED';
  if (http === 404) return 'NOT_FOUND';
  if (http === 429) return 'RESOURCE_EXHAUSTED';
  if (http === 503) return 'UNAVAILABLE';
  return 'INTERNAL';
}

const DEFAULT_FAULT_MESSAGES: Record<number, string> = {
  429: 'Rate limit reached for requests. Please try again later. (emulated)',
  500: 'The server had an error while processing your request. (emulated)',
  503: 'The engine is currently overloaded, please try again later. (emulated)',
};

/** Applies the control API's faults for this request; true when the response was sent. */
export async function applyFaults(ctx: EmulatorContext, res: ServerResponse, api: EmulatedApi, route: EmulatedRoute): Promise<boolean> {
  const fault: AppliedFault | undefined = ctx.faults.take(api, route);
  if (!fault) return false;
  if (fault.latencyMs) await delay(fault.latencyMs);
  if (fault.lateAnswerMs) holdAnswer(res, fault.lateAnswerMs);
  if (!fault.status) return false;
  ctx.store.counters.faultsInjected++;
  const message = fault.message ?? DEFAULT_FAULT_MESSAGES[fault.status] ?? `Emulated error ${fault.status}`;
  sendProviderError(res, api, fault.status, message, { retryAfterSeconds: fault.retryAfterSeconds });
  return true;
}

/** Lets the handler do its work but sends what it answers `ms` later (headers included). */
function holdAnswer(res: ServerResponse, ms: number): void {
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    setTimeout(() => end(...args), ms);
    return res;
  }) as ServerResponse['end'];
}

/** Honours the [429:N] / [500:N] prompt markers: true when this create attempt was answered with the error. */
export function applyCreateStorm(
  ctx: EmulatorContext,
  res: ServerResponse,
  api: EmulatedApi,
  prompt: string,
  storm: { status: number; count: number } | undefined,
): boolean {
  if (!storm) return false;
  const seen = (ctx.createAttempts.get(prompt) ?? 0) + 1;
  ctx.createAttempts.set(prompt, seen);
  if (seen > storm.count) return false;
  ctx.store.counters.faultsInjected++;
  sendProviderError(res, api, storm.status, DEFAULT_FAULT_MESSAGES[storm.status] ?? `Emulated error ${storm.status}`, {
    retryAfterSeconds: storm.status === 429 ? 1 : undefined,
  });
  return true;
}

export function idempotencyKeyOf(ctx: EmulatorContext, req: IncomingMessage): string | undefined {
  if (!ctx.honourIdempotencyKey) return undefined;
  const v = req.headers['idempotency-key'];
  const key = Array.isArray(v) ? v[0] : v;
  return key?.trim() || undefined;
}
