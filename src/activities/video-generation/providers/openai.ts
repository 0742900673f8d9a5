import { randomBytes } from 'node:crypto';
import type { ProviderJobState, ProviderJobStatus, VideoProviderName, VideoRequest } from '../../../workflows/video-generation/contract';
import { callJson, openDownload, ProviderConnection } from '../../../net/provider-calls';
import { ProviderHttpError } from '../../../net/provider-errors';
import type { CancelOutcome, FoundGeneration, StartedGeneration, VideoDownload, VideoProvider } from './types';

// OpenAI's Videos API (Sora 2):
//   POST   {base}/videos                 multipart form: model, prompt, seconds, size → video object
//   GET    {base}/videos?limit&order&after → {data: [video objects], has_more, last_id}
//   GET    {base}/videos/{id}            → video object {id, status: queued|in_progress|completed|failed, progress, error}
//   GET    {base}/videos/{id}/content    → the MP4
//   DELETE {base}/videos/{id}            → {id, object: "video.deleted", deleted: true}
// OpenAI ignores Idempotency-Key on this endpoint (we send one anyway; the bundled emulator can
// honour it), so a create whose answer was lost is found again by listing recent videos.

export interface OpenAiClientOptions {
  name: VideoProviderName;
  /** e.g. https://api.openai.com/v1 */
  baseUrl: string;
  apiKey: string;
  http: Omit<ProviderConnection, 'credentials'>;
}

interface VideoObject {
  id?: unknown;
  status?: unknown;
  progress?: unknown;
  created_at?: unknown;
  model?: unknown;
  prompt?: unknown;
  seconds?: unknown;
  size?: unknown;
  error?: { code?: unknown; message?: unknown } | null;
}

interface VideoList {
  data?: unknown;
  has_more?: unknown;
  last_id?: unknown;
}

const LIST_PAGE_SIZE = 100;
/** Enough for any account's videos in the minutes a start is retried for. */
const MAX_LIST_PAGES = 10;

const STATUSES: ProviderJobStatus[] = ['queued', 'in_progress', 'completed', 'failed'];

export function createOpenAiVideoClient(o: OpenAiClientOptions): VideoProvider {
  const base = o.baseUrl.replace(/\/+$/, '');
  const connection: ProviderConnection = {
    ...o.http,
    credentials: { origin: new URL(base).origin, headers: { Authorization: `Bearer ${o.apiKey}` } },
  };
  const videoUrl = (id: string) => `${base}/videos/${encodeURIComponent(id)}`;

  return {
    name: o.name,

    async start(request: VideoRequest, { idempotencyKey, signal }): Promise<StartedGeneration> {
      const form = multipart({
        model: request.model,
        prompt: request.prompt,
        seconds: String(request.seconds),
        ...(request.size ? { size: request.size } : {}),
      });
      const video = (await callJson(connection, {
        method: 'POST',
        url: `${base}/videos`,
        headers: { 'Idempotency-Key': idempotencyKey, 'Content-Type': form.contentType },
        body: form.body,
        signal,
      })) as VideoObject;
      if (typeof video.id !== 'string' || !video.id) throw malformed('POST /videos returned no video id');
      return { providerJobId: video.id, state: stateOf(video) };
    },

    async status(providerJobId, signal): Promise<ProviderJobState> {
      return stateOf((await callJson(connection, { method: 'GET', url: videoUrl(providerJobId), signal })) as VideoObject);
    },

    async download(providerJobId, signal): Promise<VideoDownload> {
      return openDownload(connection, `${videoUrl(providerJobId)}/content`, signal);
    },

    async findGenerations(request, sinceMs, signal): Promise<FoundGeneration[]> {
      const found: FoundGeneration[] = [];
      let after: string | undefined;
      for (let page = 0; page < MAX_LIST_PAGES; page++) {
        const url = new URL(`${base}/videos`);
        url.searchParams.set('limit', String(LIST_PAGE_SIZE));
        url.searchParams.set('order', 'desc');
        if (after) url.searchParams.set('after', after);
        const list = (await callJson(connection, { method: 'GET', url: url.href, signal })) as VideoList;
        const videos = (Array.isArray(list.data) ? list.data : []) as VideoObject[];
        for (const v of videos) {
          const createdAtMs = typeof v.created_at === 'number' ? v.created_at * 1000 : Number.NaN;
          if (
            createdAtMs >= sinceMs &&
            typeof v.id === 'string' &&
            isSameRequest(v, request) &&
            STATUSES.includes(v.status as ProviderJobStatus)
          ) {
            found.push({ providerJobId: v.id, createdAtMs, state: stateOf(v) });
          }
        }
        const oldest = videos.at(-1)?.created_at;
        if (list.has_more !== true || typeof list.last_id !== 'string' || (typeof oldest === 'number' && oldest * 1000 < sinceMs)) break;
        after = list.last_id;
      }
      return found.reverse();
    },

    async cancel(providerJobId): Promise<CancelOutcome> {
      try {
        await callJson(connection, { method: 'DELETE', url: videoUrl(providerJobId) });
        return 'deleted';
      } catch (e) {
        if (e instanceof ProviderHttpError && e.status === 404) return 'gone';
        throw e;
      }
    },
  };
}

function isSameRequest(v: VideoObject, r: VideoRequest): boolean {
  return (
    typeof v.prompt === 'string' &&
    v.prompt.trim() === r.prompt.trim() &&
    v.model === r.model &&
    String(v.seconds) === String(r.seconds) &&
    (r.size === undefined || v.size === r.size)
  );
}

function stateOf(video: VideoObject): ProviderJobState {
  const status = STATUSES.find((s) => s === video.status);
  if (!status) throw malformed(`unexpected video status ${JSON.stringify(video.status)}`);
  const state: ProviderJobState = { status };
  if (typeof video.progress === 'number') state.percent = Math.max(0, Math.min(100, video.progress));
  if (status === 'failed') {
    const message =
      typeof video.error?.message === 'string' ? video.error.message : 'the provider reported the generation as failed without a message';
    state.error = { message, code: typeof video.error?.code === 'string' ? video.error.code : undefined };
  }
  return state;
}

function malformed(what: string): ProviderHttpError {
  return new ProviderHttpError(502, `OpenAI videos API: ${what}`, 'bad_response', undefined);
}

/** multipart/form-data with text fields, as OpenAI's reference shows for POST /videos. */
function multipart(fields: Record<string, string>): { body: Buffer; contentType: string } {
  const boundary = `----durable-jobs-${randomBytes(12).toString('hex')}`;
  const parts = Object.entries(fields).map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  return { body: Buffer.from(`${parts.join('')}--${boundary}--\r\n`, 'utf8'), contentType: `multipart/form-data; boundary=${boundary}` };
}
