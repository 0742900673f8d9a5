import type http from 'node:http';
import { FaultBook, FaultRule } from '../faults';
import { BadRequest, delay, readFields, sendJson } from '../http-util';
import { answerFaultControl, matchRoute, startLoopbackServer } from '../loopback-server';
import { ASC_ROUTES } from './asc-routes';
import { AscApiKey, AuthError, PlayServiceAccount, StoreAuth } from './auth';
import { sendAscError, sendPlayError, sendStoreError, StoreApi, StoreContext, StoreRoute, StoreRouteSpec } from './context';
import { PLAY_ROUTES } from './play-routes';
import { StoreBehaviour, StoreState, StoreStats } from './state';

// The app store emulator: App Store Connect (/v1, presigned uploads under /_upload) and
// Google Play (/androidpublisher/v3, /upload/androidpublisher/v3, OAuth at /token) on one
// loopback port, plus a control API for tests and demos:
//   GET    /_emulator/stats       counters (uploads, submissions, commits, cancellations…)
//   GET    /_emulator/state       uploads, builds, review submissions and committed Play tracks
//   POST   /_emulator/faults      add a fault rule {api?, route?, status?, retryAfterSeconds?, latencyMs?, times?}
//   DELETE /_emulator/faults      clear fault rules
//   POST   /_emulator/behaviour   set outcomes {nextProcessing, nextReview, draftApps, uploadDelayMs}
//   POST   /_emulator/reset       clear faults, behaviour and counters

export type StoreFaultRule = FaultRule<StoreApi, StoreRoute>;

export interface StoreEmulatorOptions {
  port?: number;
  host?: string;
  /** API keys App Store Connect accepts (ES256 public keys). */
  ascKeys: AscApiKey[];
  /** Service accounts Google Play's token endpoint accepts (RS256 public keys). */
  playAccounts: PlayServiceAccount[];
  /** Upload committed → build processed (default 10 s). */
  processingMs?: number;
  /** Submitted → review finished (default 30 s). */
  reviewMs?: number;
  /** Size of each App Store Connect upload operation (default 5 MiB). */
  partSize?: number;
  /** A file that keeps uploads, builds, reviews and Play state across restarts (default: in memory only). */
  stateFile?: string;
}

export interface StoreEmulator {
  url: string;
  /** ASC_BASE_URL: the origin (paths start with /v1). */
  ascBaseUrl: string;
  /** PLAY_BASE_URL: the origin (paths start with /androidpublisher/v3). */
  playBaseUrl: string;
  /** token_uri for service-account JSON files. */
  playTokenUrl: string;
  stats(): StoreStats;
  state(): StoreState;
  addFault(rule: StoreFaultRule): void;
  clearFaults(): void;
  behave(b: StoreBehaviour): void;
  reset(): void;
  close(): Promise<void>;
}

const ROUTES: StoreRouteSpec[] = [...ASC_ROUTES, ...PLAY_ROUTES];

export async function startStoreEmulator(options: StoreEmulatorOptions): Promise<StoreEmulator> {
  const state = new StoreState({ processingMs: options.processingMs ?? 10_000, reviewMs: options.reviewMs ?? 30_000 }, options.stateFile);
  let origin = '';
  const ctx: StoreContext = {
    state,
    auth: new StoreAuth(options.ascKeys, options.playAccounts),
    faults: new FaultBook<StoreApi, StoreRoute>(),
    partSize: options.partSize ?? 5 * 1024 * 1024,
    origin: () => origin,
  };
  const server = await startLoopbackServer(
    (req, res) => handle(ctx, req, res),
    (err, req, res) => {
      const status = err instanceof BadRequest ? 400 : 500;
      const api: StoreApi = (req.url ?? '').includes('androidpublisher') || req.url === '/token' ? 'play' : 'asc';
      sendStoreError(api, res, status, err instanceof BadRequest ? err.message : `emulator error: ${(err as Error).message}`);
    },
    options,
  );
  origin = server.origin;

  return {
    url: origin,
    ascBaseUrl: origin,
    playBaseUrl: origin,
    playTokenUrl: `${origin}/token`,
    stats: () => structuredClone(state.counters),
    state: () => state,
    addFault: (rule) => ctx.faults.add(rule),
    clearFaults: () => ctx.faults.clear(),
    behave: (b) => {
      Object.assign(state.behaviour, b);
      state.changed();
    },
    reset: () => {
      ctx.faults.clear();
      state.reset();
      state.changed();
    },
    close: async () => {
      state.close();
      await server.close();
    },
  };
}

async function handle(ctx: StoreContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  try {
    await route(ctx, req, res);
  } finally {
    // Whatever a request other than a read changed is kept (with a state file).
    if (req.method !== 'GET') ctx.state.changed();
  }
}

async function route(ctx: StoreContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://emulator');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  if (path.startsWith('/_emulator/')) return control(ctx, method, path, req, res);
  ctx.state.counters.requests++;
  const match = matchRoute(ROUTES, method, path);
  if (match) {
    const { route } = match;
    if (route.auth && !(await authorized(ctx, route.api, req, res))) return;
    const fault = ctx.faults.take(route.api, route.name);
    if (fault?.latencyMs) await delay(fault.latencyMs);
    if (fault?.status) {
      ctx.state.counters.faultsInjected++;
      req.resume();
      return sendStoreError(route.api, res, fault.status, fault.message ?? `Emulated error ${fault.status}.`, fault.retryAfterSeconds);
    }
    return route.handler(ctx, { req, res, params: match.params.map(decodeURIComponent), url });
  }
  const api: StoreApi = path.includes('androidpublisher') ? 'play' : 'asc';
  sendStoreError(api, res, 404, `no emulated route for ${method} ${path}`);
}

async function authorized(ctx: StoreContext, api: StoreApi, req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> {
  try {
    if (api === 'asc') await ctx.auth.verifyAsc(req.headers.authorization);
    else ctx.auth.verifyPlay(req.headers.authorization);
    return true;
  } catch (e) {
    if (!(e instanceof AuthError)) throw e;
    ctx.state.counters.authFailures++;
    req.resume();
    if (api === 'asc') sendAscError(res, 401, 'NOT_AUTHORIZED', 'Authentication credentials are missing or invalid.', e.message);
    else sendPlayError(res, 401, e.message, { code: 'UNAUTHENTICATED' });
    return false;
  }
}

async function control(
  ctx: StoreContext,
  method: string,
  path: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const s = ctx.state;
  if (method === 'GET' && path === '/_emulator/stats') return sendJson(res, 200, s.counters);
  if (method === 'GET' && path === '/_emulator/state') {
    return sendJson(res, 200, {
      buildUploads: [...s.uploads.values()].map(({ fileId: _f, processing: _p, ...u }) => u),
      builds: [...s.builds.values()].map(({ settles: _s, ...b }) => b),
      reviewSubmissions: [...s.submissions.values()].map(({ reviewOutcome: _o, cancelingSince: _c, ...r }) => r),
      playTracks: Object.fromEntries([...s.playTracks].map(([pkg, tracks]) => [pkg, Object.fromEntries(tracks)])),
    });
  }
  if (await answerFaultControl<StoreFaultRule>(ctx.faults, method, path, req, res)) return;
  if (method === 'POST' && path === '/_emulator/behaviour') {
    Object.assign(s.behaviour, (await readFields(req)) as StoreBehaviour);
    return sendJson(res, 200, { behaviour: s.behaviour });
  }
  if (method === 'POST' && path === '/_emulator/reset') {
    ctx.faults.clear();
    s.reset();
    return sendJson(res, 200, { reset: true });
  }
  sendJson(res, 404, { error: { message: `no control route for ${method} ${path}` } });
}
