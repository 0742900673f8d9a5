import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROVIDER_CATALOG } from '../workflows/video-generation/contract';
import { applyCreateStorm, applyFaults, EmulatorContext, Handler, idempotencyKeyOf, sendProviderError } from './context';
import { readPromptMarkers } from './faults';
import type { Generation } from './generations';
import { readFields, sendBytes, sendJson } from './http-util';

// OpenAI's Videos API: POST /v1/videos, GET /v1/videos (list), GET /v1/videos/{id},
// GET /v1/videos/{id}/content, DELETE /v1/videos/{id}. Shapes follow OpenAI's API reference (video object, error bodies).

const CATALOG = PROVIDER_CATALOG.sora;

function authorized(req: IncomingMessage, res: ServerResponse): boolean {
  if (/^Bearer\s+\S+/i.test(req.headers.authorization ?? '')) return true;
  sendProviderError(
    res,
    'openai',
    401,
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
  );
  return false;
}

function videoObject(ctx: EmulatorContext, g: Generation): Record<string, unknown> {
  const seconds = (ms: number | undefined) => (ms === undefined ? null : Math.floor(ms / 1000));
  const failed = g.state === 'failed' || g.state === 'cancelled';
  return {
    id: g.id,
    object: 'video',
    model: g.model,
    status: failed ? 'failed' : g.state,
    progress: ctx.store.percent(g),
    created_at: seconds(g.createdAt),
    completed_at: g.state === 'completed' ? seconds(g.finishedAt) : null,
    expires_at: g.state === 'completed' ? seconds(g.finishedAt! + 86_400_000) : null,
    prompt: g.prompt,
    size: g.size,
    seconds: String(g.seconds),
    remixed_from_video_id: null,
    error:
      g.state === 'failed'
        ? { code: g.failure?.code ?? 'video_generation_failed', message: g.failure?.message ?? 'generation failed' }
        : g.state === 'cancelled'
          ? { code: 'cancelled', message: 'The video generation was cancelled.' }
          : null,
  };
}

const text = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

const createVideo: Handler = async (ctx, req, res) => {
  if (!authorized(req, res) || (await applyFaults(ctx, res, 'openai', 'create'))) return;
  const fields = await readFields(req);
  const prompt = text(fields.prompt)?.trim();
  if (!prompt)
    return sendProviderError(res, 'openai', 400, "Missing required parameter: 'prompt'.", {
      param: 'prompt',
      code: 'missing_required_parameter',
    });
  const model = text(fields.model) ?? CATALOG.models[0];
  if (!CATALOG.models.includes(model)) return invalidValue(res, 'model', model, CATALOG.models);
  const seconds = text(fields.seconds) ?? String(CATALOG.seconds[0]);
  const allowedSeconds = CATALOG.seconds.map(String);
  if (!allowedSeconds.includes(seconds)) return invalidValue(res, 'seconds', seconds, allowedSeconds);
  const sizes = CATALOG.sizesByModel![model];
  const size = text(fields.size) ?? sizes[0];
  if (!sizes.includes(size)) return invalidValue(res, 'size', size, sizes);

  const markers = readPromptMarkers(prompt);
  if (applyCreateStorm(ctx, res, 'openai', prompt, markers.createErrors)) return;
  if (markers.policy) {
    return sendProviderError(res, 'openai', 400, 'Your request was blocked by our moderation system. (emulated content policy refusal)', {
      param: 'prompt',
      code: 'moderation_blocked',
    });
  }
  const { generation } = ctx.store.create(
    {
      api: 'openai',
      model,
      prompt,
      seconds: Number(seconds),
      size,
      durationMs: markers.generationMs ?? ctx.generationMs,
      failure: markers.failMessage ? { code: 'video_generation_failed', message: markers.failMessage } : undefined,
    },
    idempotencyKeyOf(ctx, req),
  );
  sendJson(res, 200, videoObject(ctx, generation));
};

function invalidValue(res: ServerResponse, param: string, value: string, allowed: readonly string[]): void {
  sendProviderError(res, 'openai', 400, `Invalid value: '${value}'. Supported values are: ${allowed.map((a) => `'${a}'`).join(', ')}.`, {
    param,
    code: 'invalid_value',
  });
}

const MAX_LIST_LIMIT = 100;

/** GET /v1/videos?limit=&order=asc|desc&after=<id>: a cursor page, newest first by default. */
const listVideos: Handler = async (ctx, req, res) => {
  if (!authorized(req, res) || (await applyFaults(ctx, res, 'openai', 'list'))) return;
  const query = new URL(req.url ?? '/', 'http://emulator').searchParams;
  const limit = Number(query.get('limit') ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    return sendProviderError(res, 'openai', 400, `Invalid 'limit': integer between 1 and ${MAX_LIST_LIMIT} expected.`, {
      param: 'limit',
      code: 'invalid_value',
    });
  }
  const order = query.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') return invalidValue(res, 'order', order, ['asc', 'desc']);
  const all = ctx.store.list('openai');
  if (order === 'desc') all.reverse();
  const after = query.get('after');
  const start = after ? all.findIndex((g) => g.id === after) + 1 : 0;
  if (after && start === 0)
    return sendProviderError(res, 'openai', 400, `No video with id '${after}' to list after.`, { param: 'after', code: 'invalid_value' });
  const page = all.slice(start, start + limit);
  sendJson(res, 200, {
    object: 'list',
    data: page.map((g) => videoObject(ctx, g)),
    first_id: page[0]?.id ?? null,
    last_id: page.at(-1)?.id ?? null,
    has_more: start + limit < all.length,
  });
};

function found(ctx: EmulatorContext, res: ServerResponse, id: string): Generation | undefined {
  const g = ctx.store.get(id);
  if (!g || g.api !== 'openai')
    sendProviderError(res, 'openai', 404, `Video with id '${id}' not found.`, { param: 'video_id', code: 'not_found' });
  return g?.api === 'openai' ? g : undefined;
}

const retrieveVideo: Handler = async (ctx, req, res, [id]) => {
  if (!authorized(req, res) || (await applyFaults(ctx, res, 'openai', 'status'))) return;
  const g = found(ctx, res, id);
  if (g) sendJson(res, 200, videoObject(ctx, g));
};

const downloadContent: Handler = async (ctx, req, res, [id]) => {
  if (!authorized(req, res) || (await applyFaults(ctx, res, 'openai', 'content'))) return;
  const g = found(ctx, res, id);
  if (!g) return;
  if (g.state !== 'completed' || !g.video) {
    return sendProviderError(res, 'openai', 400, `Video '${id}' is not ready: its status is ${videoObject(ctx, g).status}.`, {
      code: 'video_not_ready',
    });
  }
  sendBytes(res, g.video, 'video/mp4');
};

const deleteVideo: Handler = async (ctx, req, res, [id]) => {
  if (!authorized(req, res) || (await applyFaults(ctx, res, 'openai', 'delete'))) return;
  const g = found(ctx, res, id);
  if (!g) return;
  ctx.store.delete(g);
  sendJson(res, 200, { id, object: 'video.deleted', deleted: true });
};

export const OPENAI_ROUTES: { method: string; pattern: RegExp; handler: Handler }[] = [
  { method: 'POST', pattern: /^\/v1\/videos$/, handler: createVideo },
  { method: 'GET', pattern: /^\/v1\/videos$/, handler: listVideos },
  { method: 'GET', pattern: /^\/v1\/videos\/([\w-]+)$/, handler: retrieveVideo },
  { method: 'GET', pattern: /^\/v1\/videos\/([\w-]+)\/content$/, handler: downloadContent },
  { method: 'DELETE', pattern: /^\/v1\/videos\/([\w-]+)$/, handler: deleteVideo },
];
