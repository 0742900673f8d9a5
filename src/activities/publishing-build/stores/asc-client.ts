import fs from 'node:fs';
import { createPrivateKey, KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { bearerJsonCalls, callJson, ProviderConnection } from '../../../net/provider-calls';
import { ProviderHttpError } from '../../../net/provider-errors';
import { uploadTimeoutMs } from './upload-timeout';

// App Store Connect API client (JSON:API over HTTPS, ES256 JWT per request):
//   POST  /v1/buildUploads                         create the upload for (app, version, build number)
//   POST  /v1/buildUploadFiles                     declare the .ipa → upload operations (presigned PUTs)
//   PUT   <operation.url>                          each part, bytes [offset, offset+length)
//   PATCH /v1/buildUploadFiles/{id}                uploaded: true + checksum commits the file
//   GET   /v1/buildUploads/{id}?include=build      upload state and, once processed, the build
//   GET   /v1/builds/{id}                          processingState PROCESSING → VALID | INVALID | FAILED
//   GET   /v1/apps/{id}/appStoreVersions, POST /v1/appStoreVersions, PATCH …/relationships/build
//   GET|POST /v1/reviewSubmissions, POST /v1/reviewSubmissionItems, PATCH /v1/reviewSubmissions/{id}

export const ASC_AUDIENCE = 'appstoreconnect-v1';
/** Apple allows at most 20 minutes; a fresh token per request keeps well inside that. */
const TOKEN_LIFETIME_S = 10 * 60;

export interface AscCredentials {
  keyId: string;
  issuerId: string;
  /** PKCS#8 PEM of the .p8 key. */
  privateKeyPem: string;
}

export interface AscClientOptions extends AscCredentials {
  /** e.g. https://api.appstoreconnect.apple.com */
  baseUrl: string;
  /** The platform's outbound client settings; each call signs itself, so no shared credentials. */
  http: Omit<ProviderConnection, 'credentials'>;
  signal?: AbortSignal;
}

export interface UploadOperation {
  method: string;
  url: string;
  offset: number;
  length: number;
  requestHeaders: { name: string; value: string }[];
}

export type ProcessingState = 'PROCESSING' | 'FAILED' | 'INVALID' | 'VALID';

export interface BuildUploadStatus {
  state: string;
  errors: string[];
  buildId?: string;
  processingState?: ProcessingState;
  /** Why processing failed, when the store says. */
  reason?: string;
}

interface Resource {
  id?: unknown;
  type?: unknown;
  attributes?: Record<string, unknown>;
  relationships?: Record<string, { data?: { id?: unknown } | null }>;
}
interface Doc {
  data?: Resource | Resource[];
  included?: Resource[];
  meta?: Record<string, unknown>;
}

export function loadAscKey(pemText: string): KeyObject {
  // Keys pasted into one-line env variables often carry literal "\n".
  return createPrivateKey(pemText.includes('\\n') ? pemText.replace(/\\n/g, '\n') : pemText);
}

export function createAscClient(o: AscClientOptions) {
  const base = o.baseUrl.replace(/\/+$/, '');
  const key = loadAscKey(o.privateKeyPem);
  const token = () =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: o.keyId, typ: 'JWT' })
      .setIssuer(o.issuerId)
      .setAudience(ASC_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + TOKEN_LIFETIME_S)
      .sign(key);

  const send = bearerJsonCalls(o.http, { baseUrl: base, token, headers: { Accept: 'application/json' }, signal: o.signal });
  const call = async (method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown) => (await send(method, path, body)) as Doc;
  const one = (doc: Doc, what: string): Resource & { id: string } => {
    const data = doc.data as Resource | undefined;
    if (!data || typeof data.id !== 'string') throw malformed(`${what} returned no resource id`);
    return data as Resource & { id: string };
  };
  const rel = (r: Resource, name: string) => {
    const id = r.relationships?.[name]?.data?.id;
    return typeof id === 'string' ? id : undefined;
  };
  const ref = (type: string, id: string) => ({ data: { type, id } });

  return {
    async createBuildUpload(appId: string, version: string, buildNumber: number): Promise<string> {
      const doc = await call('POST', '/v1/buildUploads', {
        data: {
          type: 'buildUploads',
          attributes: { cfBundleShortVersionString: version, cfBundleVersion: String(buildNumber), platform: 'IOS' },
          relationships: { app: ref('apps', appId) },
        },
      });
      return one(doc, 'POST /v1/buildUploads').id;
    },

    async createUploadFile(uploadId: string, fileName: string, fileSize: number): Promise<{ id: string; operations: UploadOperation[] }> {
      const doc = await call('POST', '/v1/buildUploadFiles', {
        data: {
          type: 'buildUploadFiles',
          attributes: { assetType: 'ASSET', fileName, fileSize, uti: 'com.apple.ipa' },
          relationships: { buildUpload: ref('buildUploads', uploadId) },
        },
      });
      const file = one(doc, 'POST /v1/buildUploadFiles');
      const ops = file.attributes?.uploadOperations;
      if (!Array.isArray(ops) || !ops.length) throw malformed('POST /v1/buildUploadFiles returned no upload operations');
      return { id: file.id, operations: ops as UploadOperation[] };
    },

    /** PUTs one part of the file to its presigned URL (no App Store Connect token: the URL carries the grant). */
    async uploadPart(op: UploadOperation, filePath: string): Promise<void> {
      const headers = Object.fromEntries((op.requestHeaders ?? []).map((h) => [h.name, h.value]));
      const stream = fs.createReadStream(filePath, { start: op.offset, end: op.offset + op.length - 1 });
      await callJson(o.http, {
        method: op.method === 'POST' ? 'POST' : 'PUT',
        url: op.url,
        headers,
        body: { stream, length: op.length },
        signal: o.signal,
        timeoutMs: uploadTimeoutMs(o.http.timeoutMs, op.length),
      });
    },

    async commitUploadFile(fileId: string, sha256: string): Promise<void> {
      await call('PATCH', `/v1/buildUploadFiles/${encodeURIComponent(fileId)}`, {
        data: {
          type: 'buildUploadFiles',
          id: fileId,
          attributes: { uploaded: true, sourceFileChecksums: { file: { hash: sha256, algorithm: 'SHA_256' } } },
        },
      });
    },

    async buildUploadStatus(uploadId: string): Promise<BuildUploadStatus> {
      const doc = await call('GET', `/v1/buildUploads/${encodeURIComponent(uploadId)}?include=build`);
      const upload = one(doc, 'GET /v1/buildUploads');
      const state = upload.attributes?.state as { state?: unknown; errors?: { code?: string; description?: string }[] } | undefined;
      const status: BuildUploadStatus = {
        state: typeof state?.state === 'string' ? state.state : 'UNKNOWN',
        errors: (state?.errors ?? []).map((e) => [e.code, e.description].filter(Boolean).join(': ')),
        buildId: rel(upload, 'build'),
      };
      if (status.buildId) {
        const included = doc.included?.find((r) => r.type === 'builds' && r.id === status.buildId);
        const build = included ?? one(await call('GET', `/v1/builds/${encodeURIComponent(status.buildId)}`), 'GET /v1/builds');
        status.processingState = build.attributes?.processingState as ProcessingState;
        if (status.processingState !== 'PROCESSING' && status.processingState !== 'VALID') {
          const more = await call('GET', `/v1/builds/${encodeURIComponent(status.buildId)}`);
          const errors = more.meta?.processingErrors;
          if (Array.isArray(errors) && errors.length) status.reason = errors.map(String).join('; ');
        }
      }
      return status;
    },

    async findOrCreateVersion(appId: string, versionString: string): Promise<string> {
      const q = `filter[versionString]=${encodeURIComponent(versionString)}&filter[platform]=IOS`;
      const list = await call('GET', `/v1/apps/${encodeURIComponent(appId)}/appStoreVersions?${q}`);
      const found = (Array.isArray(list.data) ? list.data : []).find((v) => v.attributes?.versionString === versionString);
      if (found && typeof found.id === 'string') return found.id;
      const doc = await call('POST', '/v1/appStoreVersions', {
        data: { type: 'appStoreVersions', attributes: { platform: 'IOS', versionString }, relationships: { app: ref('apps', appId) } },
      });
      return one(doc, 'POST /v1/appStoreVersions').id;
    },

    async attachBuild(versionId: string, buildId: string): Promise<void> {
      await call('PATCH', `/v1/appStoreVersions/${encodeURIComponent(versionId)}/relationships/build`, {
        data: { type: 'builds', id: buildId },
      });
    },

    /** The app's open (READY_FOR_REVIEW) submission, or a new one. */
    async openReviewSubmission(appId: string): Promise<string> {
      const list = await call(
        'GET',
        `/v1/reviewSubmissions?filter[app]=${encodeURIComponent(appId)}&filter[platform]=IOS&filter[state]=READY_FOR_REVIEW`,
      );
      const open = (Array.isArray(list.data) ? list.data : [])[0];
      if (open && typeof open.id === 'string') return open.id;
      const doc = await call('POST', '/v1/reviewSubmissions', {
        data: { type: 'reviewSubmissions', attributes: { platform: 'IOS' }, relationships: { app: ref('apps', appId) } },
      });
      return one(doc, 'POST /v1/reviewSubmissions').id;
    },

    /** Adds the version to the submission; already being an item is fine. */
    async addReviewItem(submissionId: string, versionId: string): Promise<void> {
      try {
        await call('POST', '/v1/reviewSubmissionItems', {
          data: {
            type: 'reviewSubmissionItems',
            relationships: {
              reviewSubmission: ref('reviewSubmissions', submissionId),
              appStoreVersion: ref('appStoreVersions', versionId),
            },
          },
        });
      } catch (e) {
        if (!(e instanceof ProviderHttpError && e.status === 409 && /DUPLICATE/.test(e.code ?? ''))) throw e;
      }
    },

    async submitReview(submissionId: string): Promise<string> {
      const doc = await call('PATCH', `/v1/reviewSubmissions/${encodeURIComponent(submissionId)}`, {
        data: { type: 'reviewSubmissions', id: submissionId, attributes: { submitted: true } },
      });
      return String(one(doc, 'PATCH /v1/reviewSubmissions').attributes?.state);
    },

    async reviewSubmission(submissionId: string): Promise<{ state: string; reason?: string }> {
      const doc = await call('GET', `/v1/reviewSubmissions/${encodeURIComponent(submissionId)}`);
      const reason = doc.meta?.rejectionReason;
      return { state: String(one(doc, 'GET /v1/reviewSubmissions').attributes?.state), ...(typeof reason === 'string' ? { reason } : {}) };
    },

    async cancelReview(submissionId: string): Promise<string> {
      const doc = await call('PATCH', `/v1/reviewSubmissions/${encodeURIComponent(submissionId)}`, {
        data: { type: 'reviewSubmissions', id: submissionId, attributes: { canceled: true } },
      });
      return String(one(doc, 'PATCH /v1/reviewSubmissions').attributes?.state);
    },
  };
}

export type AscClient = ReturnType<typeof createAscClient>;

function malformed(what: string): ProviderHttpError {
  return new ProviderHttpError(502, `App Store Connect: ${what}`, 'bad_response', undefined);
}
