import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendProviderError } from '../context';
import type { FaultBook } from '../faults';
import { sendJson } from '../http-util';
import type { StoreAuth } from './auth';
import type { StoreState } from './state';

export type StoreApi = 'asc' | 'play';

/** Names of the emulated calls, as fault rules address them. */
export type StoreRoute =
  | 'token'
  | 'createBuildUpload'
  | 'getBuildUpload'
  | 'createUploadFile'
  | 'uploadPart'
  | 'commitUploadFile'
  | 'getBuild'
  | 'appStoreVersions'
  | 'attachBuild'
  | 'reviewSubmissions'
  | 'reviewSubmissionItems'
  | 'updateReviewSubmission'
  | 'getReviewSubmission'
  | 'insertEdit'
  | 'uploadBundle'
  | 'tracks'
  | 'commitEdit';

export interface StoreContext {
  state: StoreState;
  auth: StoreAuth;
  faults: FaultBook<StoreApi, StoreRoute>;
  /** Size of each upload operation App Store Connect hands out. */
  partSize: number;
  origin(): string;
}

export interface StoreRequest {
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
  url: URL;
}

export interface StoreRouteSpec {
  api: StoreApi;
  name: StoreRoute;
  method: string;
  pattern: RegExp;
  /** Presigned upload URLs and the token endpoint carry no bearer token. */
  auth: boolean;
  handler(ctx: StoreContext, r: StoreRequest): Promise<void>;
}

/** App Store Connect's error document: {errors: [{id, status, code, title, detail}]}. */
export function sendAscError(
  res: ServerResponse,
  status: number,
  code: string,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { errors: [{ id: crypto.randomUUID(), status: String(status), code, title, detail }] }, headers);
}

/** Google's error document: {error: {code, message, status}}. */
export function sendPlayError(
  res: ServerResponse,
  status: number,
  message: string,
  extra: { code?: string; retryAfterSeconds?: number } = {},
): void {
  sendProviderError(res, 'gemini', status, message, extra);
}

export function sendStoreError(api: StoreApi, res: ServerResponse, status: number, message: string, retryAfterSeconds?: number): void {
  if (api === 'play') return sendPlayError(res, status, message, { retryAfterSeconds });
  const code = status === 429 ? 'RATE_LIMIT_EXCEEDED' : status >= 500 ? 'INTERNAL_ERROR' : 'ENTITY_ERROR';
  sendAscError(
    res,
    status,
    code,
    status === 429 ? 'The request rate limit has been reached.' : 'An error occurred.',
    message,
    retryAfterSeconds !== undefined ? { 'Retry-After': String(retryAfterSeconds) } : {},
  );
}

/** A JSON:API resource object. */
export function resource(
  ctx: StoreContext,
  type: string,
  id: string,
  attributes: Record<string, unknown>,
  relationships?: Record<string, unknown>,
) {
  return { type, id, attributes, ...(relationships ? { relationships } : {}), links: { self: `${ctx.origin()}/v1/${type}/${id}` } };
}

/** A to-one relationship of a JSON:API resource (null data when unset). */
export function toOne(type: string, id: string | undefined) {
  return { data: id ? { type, id } : null };
}

export function document(ctx: StoreContext, data: unknown, extra: Record<string, unknown> = {}) {
  return { data, links: { self: ctx.origin() }, ...extra };
}

/** `data.relationships.<name>.data.id` of a JSON:API request body. */
export function relationshipId(body: Record<string, unknown>, name: string): string | undefined {
  const data = body.data as { relationships?: Record<string, { data?: { id?: unknown } }> } | undefined;
  const id = data?.relationships?.[name]?.data?.id;
  return typeof id === 'string' ? id : undefined;
}

export function attributesOf(body: Record<string, unknown>): Record<string, unknown> {
  const data = body.data as { attributes?: unknown } | undefined;
  return data?.attributes && typeof data.attributes === 'object' ? (data.attributes as Record<string, unknown>) : {};
}
