import type { ProviderJobState, VideoRequest } from '../../../workflows/video-generation/contract';
import { callJson, openDownload, ProviderConnection } from '../../../net/provider-calls';
import { ProviderHttpError } from '../../../net/provider-errors';
import type { CancelOutcome, StartedGeneration, VideoDownload, VideoProvider } from './types';

// Veo through the Gemini API (key in the x-goog-api-key header):
//   POST {base}/models/{model}:predictLongRunning  {instances:[{prompt}], parameters:{aspectRatio, durationSeconds, resolution}}
//        → operation {name: "models/{model}/operations/{id}"}
//   GET  {base}/{name} → {done?, error?, response.generateVideoResponse.generatedSamples[0].video.uri}
//   GET  {video uri}   → the MP4 (…/files/{id}:download?alt=media, may redirect to storage)
//   POST {base}/{name}:cancel → best effort: Google's long-running operations define it, the
//        Gemini API may answer 404/501 for Veo, which we report as "unsupported".

export interface GeminiClientOptions {
  /** e.g. https://generativelanguage.googleapis.com/v1beta */
  baseUrl: string;
  apiKey: string;
  http: Omit<ProviderConnection, 'credentials'>;
}

interface Operation {
  name?: unknown;
  done?: unknown;
  error?: { code?: unknown; message?: unknown };
  response?: {
    generateVideoResponse?: {
      generatedSamples?: { video?: { uri?: unknown } }[];
      raiMediaFilteredCount?: unknown;
      raiMediaFilteredReasons?: unknown;
    };
  };
}

const OPERATION_NAME = /^models\/[\w.-]+\/operations\/[\w-]+$/;

export function createGeminiVideoClient(o: GeminiClientOptions): VideoProvider {
  const base = o.baseUrl.replace(/\/+$/, '');
  // The key goes to GEMINI_BASE_URL's origin only: a file URI naming another origin is fetched without it.
  const connection: ProviderConnection = {
    ...o.http,
    credentials: { origin: new URL(base).origin, headers: { 'x-goog-api-key': o.apiKey } },
  };
  const operationUrl = (name: string) => {
    if (!OPERATION_NAME.test(name))
      throw new ProviderHttpError(400, `"${name}" is not a Veo operation name`, 'bad_operation_name', undefined);
    return `${base}/${name}`;
  };
  const getOperation = async (name: string, signal?: AbortSignal) =>
    (await callJson(connection, { method: 'GET', url: operationUrl(name), signal })) as Operation;

  return {
    name: 'veo',

    async start(request: VideoRequest, { idempotencyKey, signal }): Promise<StartedGeneration> {
      const parameters: Record<string, unknown> = { durationSeconds: request.seconds };
      if (request.aspectRatio) parameters.aspectRatio = request.aspectRatio;
      if (request.resolution) parameters.resolution = request.resolution;
      const body = Buffer.from(JSON.stringify({ instances: [{ prompt: request.prompt }], parameters }), 'utf8');
      const op = (await callJson(connection, {
        method: 'POST',
        url: `${base}/models/${encodeURIComponent(request.model)}:predictLongRunning`,
        // Not a documented Gemini header; the bundled emulator honours it, Google ignores it.
        headers: { 'Idempotency-Key': idempotencyKey, 'Content-Type': 'application/json' },
        body,
        signal,
      })) as Operation;
      if (typeof op.name !== 'string' || !OPERATION_NAME.test(op.name)) throw malformed(`predictLongRunning returned no operation name`);
      return { providerJobId: op.name, state: stateOf(op) };
    },

    async status(providerJobId, signal) {
      return stateOf(await getOperation(providerJobId, signal));
    },

    async download(providerJobId, signal): Promise<VideoDownload> {
      const op = await getOperation(providerJobId, signal);
      const uri = op.response?.generateVideoResponse?.generatedSamples?.[0]?.video?.uri;
      if (op.done !== true || typeof uri !== 'string') throw malformed(`operation ${providerJobId} has no finished video to download`);
      return openDownload(connection, uri, signal);
    },

    async cancel(providerJobId): Promise<CancelOutcome> {
      try {
        await callJson(connection, { method: 'POST', url: `${operationUrl(providerJobId)}:cancel` });
        return 'cancelled';
      } catch (e) {
        if (e instanceof ProviderHttpError && (e.status === 404 || e.status === 405 || e.status === 501)) return 'unsupported';
        throw e;
      }
    },
  };
}

function stateOf(op: Operation): ProviderJobState {
  if (op.done !== true) return { status: 'in_progress' };
  if (op.error) {
    const message = typeof op.error.message === 'string' ? op.error.message : 'the operation failed without a message';
    return { status: 'failed', error: { message, code: op.error.code !== undefined ? String(op.error.code) : undefined } };
  }
  const result = op.response?.generateVideoResponse;
  if (result?.generatedSamples?.[0]?.video?.uri) return { status: 'completed', percent: 100 };
  const reasons = Array.isArray(result?.raiMediaFilteredReasons)
    ? result!.raiMediaFilteredReasons.filter((r) => typeof r === 'string')
    : [];
  if (reasons.length || Number(result?.raiMediaFilteredCount) > 0) {
    return {
      status: 'failed',
      error: { code: 'RAI_FILTERED', message: reasons.join(' ') || "the video was filtered by the provider's safety system" },
    };
  }
  return { status: 'failed', error: { code: 'NO_VIDEO', message: 'the operation finished without a video' } };
}

function malformed(what: string): ProviderHttpError {
  return new ProviderHttpError(502, `Gemini API: ${what}`, 'bad_response', undefined);
}
