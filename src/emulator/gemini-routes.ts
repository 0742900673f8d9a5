import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROVIDER_CATALOG } from '../workflows/video-generation/contract';
import { applyCreateStorm, applyFaults, EmulatorContext, Handler, idempotencyKeyOf, sendProviderError } from './context';
import { readPromptMarkers } from './faults';
import type { Generation } from './generations';
import { readFields, sendBytes, sendJson } from './http-util';

// Veo through the Gemini API: POST /v1beta/models/{model}:predictLongRunning returns a
// long-running operation; GET /v1beta/{operation name} polls it; the finished operation
// names the video file, fetched with GET .../files/{id}:download?alt=media.

const CATALOG = PROVIDER_CATALOG.veo;

function authorized(req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://emulator');
  if (req.headers['x-goog-api-key'] || url.searchParams.get('key')) return true;
  sendProviderError(
    res,
    'gemini',
    403,
    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
  );
  return false;
}

const operationName = (g: Generation) => `models/${g.model}/operations/${g.id}`;

function operation(ctx: EmulatorContext, g: Generation): Record<string, unknown> {
  const op: Record<string, unknown> = { name: operationName(g) };
  if (g.state === 'queued' || g.state === 'in_progress') return op; // proto3 JSON omits done=false
  op.done = true;
  if (g.state === 'completed') {
    op.response = {
      '@type': 'type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse',
      generateVideoResponse: { generatedSamples: [{ video: { uri: `${ctx.origin()}/v1beta/files/${g.id}:download?alt=media` } }] },
    };
  } else if (g.state === 'cancelled') {
    op.error = { code: 1, message: 'The operation was cancelled.' };
  } else {
    op.error = { code: 13, message: g.failure?.message ?? 'Video generation failed.' };
  }
  return op;
}

const asRecord = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

const predictLongRunning: Handler = async (ctx, req, res, [model]) => {
  if (!authorized(req, res) || (await applyFaults(ctx, res, 'gemini', 'create'))) return;
  if (!CATALOG.models.includes(model)) {
    return sendProviderError(
      res,
      'gemini',
      404,
      `models/${model} is not found for API version v1beta, or is not supported for predictLongRunning.`,
    );
  }
  const body = await readFields(req);
  const instance = asRecord(Array.isArray(body.instances) ? body.instances[0] : undefined);
  const params = asRecord(body.parameters);
  const prompt = typeof instance.prompt === 'string' ? instance.prompt.trim() : '';
  if (!prompt) return sendProviderError(res, 'gemini', 400, 'instances[0].prompt is required.');
  const aspectRatio = String(params.aspectRatio ?? CATALOG.aspectRatios![0]);
  if (!CATALOG.aspectRatios!.includes(aspectRatio))
    return sendProviderError(res, 'gemini', 400, `Unsupported aspect ratio: ${aspectRatio}. Supported: 16:9, 9:16.`);
  const seconds = Number(params.durationSeconds ?? CATALOG.seconds[0]);
  if (!CATALOG.seconds.includes(seconds))
    return sendProviderError(res, 'gemini', 400, `Unsupported duration: ${params.durationSeconds}. Supported: 4, 6, 8.`);
  const resolution = String(params.resolution ?? CATALOG.resolutions![0]);
  if (!CATALOG.resolutions!.includes(resolution)) return sendProviderError(res, 'gemini', 400, `Unsupported resolution: ${resolution}.`);
  if (CATALOG.resolutionsNeedingEightSeconds!.includes(resolution) && seconds !== 8) {
    return sendProviderError(res, 'gemini', 400, `Resolution ${resolution} requires durationSeconds 8.`);
  }

  const markers = readPromptMarkers(prompt);
  if (applyCreateStorm(ctx, res, 'gemini', prompt, markers.createErrors)) return;
  if (markers.policy) {
    return sendProviderError(
      res,
      'gemini',
      400,
      "The prompt could not be submitted. This prompt contains words that violate Gemini API's usage guidelines. (emulated content policy refusal)",
    );
  }
  const { generation } = ctx.store.create(
    {
      api: 'gemini',
      model,
      prompt,
      seconds,
      aspectRatio,
      resolution,
      durationMs: markers.generationMs ?? ctx.generationMs,
      failure: markers.failMessage ? { code: 'INTERNAL', message: markers.failMessage } : undefined,
    },
    idempotencyKeyOf(ctx, req),
  );
  sendJson(res, 200, { name: operationName(generation) });
};

function found(ctx: EmulatorContext, res: ServerResponse, model: string, id: string): Generation | undefined {
  const g = ctx.store.get(id);
  if (g && g.api === 'gemini' && g.model === model) return g;
  sendProviderError(res, 'gemini', 404, `Operation models/${model}/operations/${id} not found.`);
  return undefined;
}

const getOperation: Handler = async (ctx, req, res, [model, id]) => {
  if (!authorized(req, res) || (await applyFaults(ctx, res, 'gemini', 'status'))) return;
  const g = found(ctx, res, model, id);
  if (g) sendJson(res, 200, operation(ctx, g));
};

/** operations:cancel stops a generation, DELETE forgets it; both answer `{}`. */
const endOperation =
  (action: 'cancel' | 'delete'): Handler =>
  async (ctx, req, res, [model, id]) => {
    if (!authorized(req, res) || (await applyFaults(ctx, res, 'gemini', 'delete'))) return;
    const g = found(ctx, res, model, id);
    if (!g) return;
    ctx.store[action](g);
    sendJson(res, 200, {});
  };

const downloadFile: Handler = async (ctx, req, res, [id]) => {
  if (!authorized(req, res) || (await applyFaults(ctx, res, 'gemini', 'content'))) return;
  const g = ctx.store.get(id);
  if (!g || g.api !== 'gemini' || !g.video) return sendProviderError(res, 'gemini', 404, `File files/${id} not found.`);
  sendBytes(res, g.video, 'video/mp4');
};

const MODEL = '([\\w.-]+)';
export const GEMINI_ROUTES: { method: string; pattern: RegExp; handler: Handler }[] = [
  { method: 'POST', pattern: new RegExp(`^/v1beta/models/${MODEL}:predictLongRunning$`), handler: predictLongRunning },
  { method: 'GET', pattern: new RegExp(`^/v1beta/models/${MODEL}/operations/(\\w+)$`), handler: getOperation },
  { method: 'POST', pattern: new RegExp(`^/v1beta/models/${MODEL}/operations/(\\w+):cancel$`), handler: endOperation('cancel') },
  { method: 'DELETE', pattern: new RegExp(`^/v1beta/models/${MODEL}/operations/(\\w+)$`), handler: endOperation('delete') },
  { method: 'GET', pattern: /^\/v1beta\/files\/(\w+):download$/, handler: downloadFile },
];
