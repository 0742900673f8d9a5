import type http from 'node:http';
import type { EmulatorContext, Handler } from './context';
import { FaultBook, FaultRule } from './faults';
import { GEMINI_ROUTES } from './gemini-routes';
import { EmulatorStats, GenerationStore } from './generations';
import { BadRequest, sendJson } from './http-util';
import { answerFaultControl, matchRoute, startLoopbackServer } from './loopback-server';
import { OPENAI_ROUTES } from './openai-routes';

// The video provider emulator: OpenAI's Videos API under /v1 and Veo (Gemini API) under
// /v1beta on one loopback port, plus a control API under /_emulator for tests and demos:
//   GET  /_emulator/stats            counters (creations, in flight now and at most, deletions…)
//   POST /_emulator/faults           add a FaultRule (JSON body)
//   DELETE /_emulator/faults         clear fault rules
//   POST /_emulator/reset            clear faults and counters

export interface ProviderEmulatorOptions {
  port?: number;
  host?: string;
  /** How long a generation takes from create to completed (default 20 s). */
  generationMs?: number;
  /** Answer a repeated Idempotency-Key with the first generation (default true); false behaves like OpenAI, which ignores it. */
  honourIdempotencyKey?: boolean;
  /** A file that keeps the generations across restarts (default: in memory only). */
  stateFile?: string;
}

export interface ProviderEmulator {
  /** e.g. http://127.0.0.1:4010 */
  url: string;
  /** Base URL for OPENAI_BASE_URL: `${url}/v1`. */
  openaiBaseUrl: string;
  /** Base URL for GEMINI_BASE_URL: `${url}/v1beta`. */
  geminiBaseUrl: string;
  stats(): EmulatorStats;
  resetStats(): void;
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  close(): Promise<void>;
}

const ROUTES: { method: string; pattern: RegExp; handler: Handler }[] = [...OPENAI_ROUTES, ...GEMINI_ROUTES];

export async function startProviderEmulator(options: ProviderEmulatorOptions = {}): Promise<ProviderEmulator> {
  const store = new GenerationStore(options.stateFile);
  const faults = new FaultBook();
  let origin = '';
  const ctx: EmulatorContext = {
    store,
    faults,
    generationMs: options.generationMs ?? 20_000,
    honourIdempotencyKey: options.honourIdempotencyKey ?? true,
    createAttempts: new Map(),
    origin: () => origin,
  };
  const server = await startLoopbackServer(
    (req, res) => handle(ctx, req, res),
    (err, _req, res) => {
      if (err instanceof BadRequest) return sendJson(res, 400, { error: { message: err.message, type: 'invalid_request_error' } });
      sendJson(res, 500, { error: { message: `emulator error: ${(err as Error).message}`, type: 'server_error' } });
    },
    options,
  );
  origin = server.origin;

  return {
    url: origin,
    openaiBaseUrl: `${origin}/v1`,
    geminiBaseUrl: `${origin}/v1beta`,
    stats: () => structuredClone(store.counters),
    resetStats: () => store.resetCounters(),
    addFault: (rule) => faults.add(rule),
    clearFaults: () => faults.clear(),
    close: async () => {
      store.close();
      await server.close();
    },
  };
}

async function handle(ctx: EmulatorContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://emulator').pathname);
  const method = req.method ?? 'GET';
  if (path.startsWith('/_emulator/')) return control(ctx, method, path, req, res);
  ctx.store.counters.requests++;
  const match = matchRoute(ROUTES, method, path);
  if (match) return match.route.handler(ctx, req, res, match.params);
  sendJson(res, 404, { error: { message: `no emulated route for ${method} ${path}`, type: 'invalid_request_error' } });
}

async function control(
  ctx: EmulatorContext,
  method: string,
  path: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  if (method === 'GET' && path === '/_emulator/stats') return sendJson(res, 200, ctx.store.counters);
  if (await answerFaultControl<FaultRule>(ctx.faults, method, path, req, res)) return;
  if (method === 'POST' && path === '/_emulator/reset') {
    ctx.faults.clear();
    ctx.createAttempts.clear();
    ctx.store.resetCounters();
    return sendJson(res, 200, { reset: true });
  }
  sendJson(res, 404, { error: { message: `no control route for ${method} ${path}` } });
}
