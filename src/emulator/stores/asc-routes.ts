import { createHash } from 'node:crypto';
import { delay, readBody, readFields, sendJson } from '../http-util';
import {
  attributesOf,
  document,
  relationshipId,
  resource,
  sendAscError,
  StoreContext,
  StoreRequest,
  StoreRouteSpec,
  toOne,
} from './context';
import { AscBuildUpload, newId, ReviewSubmission, UploadFile } from './state';
import { checkIpa } from './zip-check';

// App Store Connect API subset: build uploads (buildUploads, buildUploadFiles, upload
// operations, commit), builds' processingState, app store versions, review submissions.

const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;
const PLATFORMS = ['IOS', 'MAC_OS', 'TV_OS', 'VISION_OS'];

const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

function notFound({ res }: StoreRequest, type: string, id: string): void {
  sendAscError(res, 404, 'NOT_FOUND', 'The specified resource does not exist', `There is no resource of type '${type}' with id '${id}'`);
}

function invalid({ res }: StoreRequest, detail: string): void {
  sendAscError(res, 409, 'ENTITY_ERROR.ATTRIBUTE.INVALID', 'An attribute value is invalid.', detail);
}

function uploadView(ctx: StoreContext, u: AscBuildUpload) {
  return resource(
    ctx,
    'buildUploads',
    u.id,
    {
      cfBundleShortVersionString: u.version,
      cfBundleVersion: u.buildNumber,
      platform: u.platform,
      createdDate: new Date(u.createdAt).toISOString(),
      state: { state: u.state, errors: u.errors, warnings: [], infos: [] },
    },
    {
      build: { data: u.buildId ? { type: 'builds', id: u.buildId } : null },
      assetFile: { data: u.fileId ? { type: 'buildUploadFiles', id: u.fileId } : null },
    },
  );
}

function fileView(ctx: StoreContext, f: UploadFile) {
  const operations = [];
  if (f.state === 'AWAITING_UPLOAD') {
    const expiration = new Date(Date.now() + 7 * 86_400_000).toISOString();
    for (let offset = 0, part = 1; offset < f.fileSize; offset += f.partSize, part++) {
      operations.push({
        method: 'PUT',
        url: `${ctx.origin()}/_upload/asc/${f.id}/${part}`,
        offset,
        length: Math.min(f.partSize, f.fileSize - offset),
        partNumber: part,
        expiration,
        requestHeaders: [{ name: 'Content-Type', value: 'application/octet-stream' }],
      });
    }
  }
  return resource(
    ctx,
    'buildUploadFiles',
    f.id,
    {
      assetType: 'ASSET',
      fileName: f.fileName,
      fileSize: f.fileSize,
      uti: f.uti,
      assetDeliveryState: { state: f.state, errors: [], warnings: [] },
      uploadOperations: operations,
    },
    { buildUpload: toOne('buildUploads', f.uploadId) },
  );
}

function buildView(ctx: StoreContext, id: string) {
  const b = ctx.state.builds.get(id)!;
  return resource(
    ctx,
    'builds',
    b.id,
    { version: b.buildNumber, processingState: b.processingState, expired: false },
    { app: toOne('apps', b.appId) },
  );
}

async function createBuildUpload(ctx: StoreContext, r: StoreRequest): Promise<void> {
  const body = await readFields(r.req);
  const a = attributesOf(body);
  const appId = relationshipId(body, 'app');
  const version = str(a.cfBundleShortVersionString);
  const buildNumber = str(a.cfBundleVersion);
  const platform = str(a.platform);
  if (!appId) return invalid(r, "The relationship 'app' is required.");
  if (!version || !buildNumber) return invalid(r, 'cfBundleShortVersionString and cfBundleVersion are required.');
  if (!platform || !PLATFORMS.includes(platform)) return invalid(r, `platform must be one of ${PLATFORMS.join(', ')}.`);
  const duplicate = [...ctx.state.uploads.values()].find(
    (u) => u.appId === appId && u.version === version && u.buildNumber === buildNumber && u.state !== 'FAILED',
  );
  if (duplicate) {
    return sendAscError(
      r.res,
      409,
      'ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE',
      'The bundle version must be higher than the previously uploaded version.',
      `The build with the version '${buildNumber}' already exists for version ${version} of this app (build upload ${duplicate.id}).`,
    );
  }
  const upload: AscBuildUpload = {
    id: newId('bu-'),
    appId,
    version,
    buildNumber,
    platform,
    createdAt: Date.now(),
    state: 'AWAITING_UPLOAD',
    errors: [],
  };
  ctx.state.uploads.set(upload.id, upload);
  ctx.state.counters.buildUploads++;
  sendJson(r.res, 201, document(ctx, uploadView(ctx, upload)));
}

async function getBuildUpload(ctx: StoreContext, r: StoreRequest): Promise<void> {
  const upload = ctx.state.uploads.get(r.params[0]);
  if (!upload) return notFound(r, 'buildUploads', r.params[0]);
  const include = (r.url.searchParams.get('include') ?? '').split(',');
  const included = include.includes('build') && upload.buildId ? [buildView(ctx, upload.buildId)] : undefined;
  sendJson(r.res, 200, document(ctx, uploadView(ctx, upload), included ? { included } : {}));
}

async function createUploadFile(ctx: StoreContext, r: StoreRequest): Promise<void> {
  const body = await readFields(r.req);
  const a = attributesOf(body);
  const uploadId = relationshipId(body, 'buildUpload');
  const upload = uploadId ? ctx.state.uploads.get(uploadId) : undefined;
  if (!upload) return invalid(r, "The relationship 'buildUpload' must name an existing build upload.");
  if (upload.state !== 'AWAITING_UPLOAD')
    return invalid(r, `The build upload is ${upload.state}; files can be added while it is AWAITING_UPLOAD only.`);
  const fileName = str(a.fileName);
  const fileSize = typeof a.fileSize === 'number' && Number.isInteger(a.fileSize) ? a.fileSize : NaN;
  if (a.assetType !== 'ASSET') return invalid(r, 'assetType must be ASSET.');
  if (a.uti !== 'com.apple.ipa') return invalid(r, 'uti must be com.apple.ipa for an iOS build.');
  if (!fileName || !fileName.endsWith('.ipa')) return invalid(r, 'fileName must name an .ipa file.');
  if (!(fileSize >= 1 && fileSize <= MAX_UPLOAD_BYTES)) return invalid(r, `fileSize must be between 1 and ${MAX_UPLOAD_BYTES} bytes.`);
  const file: UploadFile = {
    id: newId('buf-'),
    uploadId: upload.id,
    fileName,
    fileSize,
    uti: 'com.apple.ipa',
    partSize: ctx.partSize,
    parts: new Map(),
    state: 'AWAITING_UPLOAD',
  };
  ctx.state.files.set(file.id, file);
  upload.fileId = file.id;
  sendJson(r.res, 201, document(ctx, fileView(ctx, file)));
}

async function uploadPart(ctx: StoreContext, r: StoreRequest): Promise<void> {
  const [fileId, partText] = r.params;
  const file = ctx.state.files.get(fileId);
  const part = Number(partText);
  if (!file || file.state !== 'AWAITING_UPLOAD')
    return sendAscError(r.res, 404, 'NOT_FOUND', 'Upload operation not found', `no open upload for file ${fileId}`);
  const offset = (part - 1) * file.partSize;
  const expected = Math.min(file.partSize, file.fileSize - offset);
  if (!(part >= 1 && offset < file.fileSize))
    return sendAscError(r.res, 400, 'PARAMETER_ERROR.INVALID', 'Invalid part', `part ${part} is outside the file`);
  const bytes = await readBody(r.req, file.partSize + 1);
  if (ctx.state.behaviour.uploadDelayMs) await delay(ctx.state.behaviour.uploadDelayMs);
  if (bytes.length !== expected)
    return sendAscError(
      r.res,
      400,
      'PARAMETER_ERROR.INVALID',
      'Invalid part length',
      `part ${part} must be ${expected} bytes, got ${bytes.length}`,
    );
  file.parts.set(part, bytes);
  ctx.state.counters.partsUploaded++;
  r.res.writeHead(200, { ETag: `"${createHash('md5').update(bytes).digest('hex')}"`, 'Content-Length': '0' });
  r.res.end();
}

async function commitUploadFile(ctx: StoreContext, r: StoreRequest): Promise<void> {
  const file = ctx.state.files.get(r.params[0]);
  if (!file) return notFound(r, 'buildUploadFiles', r.params[0]);
  const a = attributesOf(await readFields(r.req));
  if (a.uploaded !== true) return invalid(r, 'Set uploaded to true once every upload operation is done.');
  if (file.state !== 'AWAITING_UPLOAD') return sendJson(r.res, 200, document(ctx, fileView(ctx, file)));
  const parts = Math.ceil(file.fileSize / file.partSize);
  const missing = Array.from({ length: parts }, (_, i) => i + 1).filter((p) => !file.parts.has(p));
  if (missing.length) return invalid(r, `Upload operations not completed: part(s) ${missing.join(', ')}.`);
  const bytes = Buffer.concat(Array.from({ length: parts }, (_, i) => file.parts.get(i + 1)!));
  const checksums = a.sourceFileChecksums as { file?: { hash?: unknown; algorithm?: unknown } } | undefined;
  const declared = checksums?.file;
  if (declared?.hash !== undefined) {
    const algorithm = declared.algorithm === 'MD5' ? 'md5' : 'sha256';
    const actual = createHash(algorithm).update(bytes).digest('hex');
    if (String(declared.hash).toLowerCase() !== actual)
      return invalid(r, `The file checksum does not match: declared ${String(declared.hash)}, received ${actual}.`);
  }
  file.state = 'COMPLETE';
  file.parts.clear();
  const upload = ctx.state.uploads.get(file.uploadId)!;
  const check = checkIpa(bytes);
  let problem = check.problem;
  if (!problem && check.buildNumber && check.buildNumber !== upload.buildNumber) {
    problem = `CFBundleVersion ${check.buildNumber} in Info.plist does not match the build upload's cfBundleVersion ${upload.buildNumber}.`;
  }
  ctx.state.startProcessing(upload, problem);
  sendJson(r.res, 200, document(ctx, fileView(ctx, file)));
}

async function getBuild(ctx: StoreContext, r: StoreRequest): Promise<void> {
  const build = ctx.state.builds.get(r.params[0]);
  if (!build) return notFound(r, 'builds', r.params[0]);
  // Apple reports why a build is invalid by email; the emulator puts it beside the state.
  sendJson(r.res, 200, document(ctx, buildView(ctx, build.id), build.reason ? { meta: { processingErrors: [build.reason] } } : {}));
}

function versionView(ctx: StoreContext, id: string) {
  const v = ctx.state.versions.get(id)!;
  return resource(
    ctx,
    'appStoreVersions',
    v.id,
    { platform: v.platform, versionString: v.versionString, appStoreState: v.appStoreState },
    { build: toOne('builds', v.buildId) },
  );
}

async function listAppStoreVersions(ctx: StoreContext, r: StoreRequest): Promise<void> {
  const appId = r.params[0];
  const q = r.url.searchParams;
  const versions = [...ctx.state.versions.values()].filter(
    (v) =>
      v.appId === appId &&
      (!q.get('filter[versionString]') || v.versionString === q.get('filter[versionString]')) &&
      (!q.get('filter[platform]') || v.platform === q.get('filter[platform]')),
  );
  sendJson(
    r.res,
    200,
    document(
      ctx,
      versions.map((v) => versionView(ctx, v.id)),
      { meta: { paging: { total: versions.length, limit: 50 } } },
    ),
  );
}

async function createAppStoreVersion(ctx: StoreContext, r: StoreRequest): Promise<void> {
  const body = await readFields(r.req);
  const a = attributesOf(body);
  const appId = relationshipId(body, 'app');
  const versionString = str(a.versionString);
  const platform = str(a.platform) ?? 'IOS';
  if (!appId || !versionString) return invalid(r, "versionString and the relationship 'app' are required.");
  if ([...ctx.state.versions.values()].some((v) => v.appId === appId && v.platform === platform && v.versionString === versionString)) {
    return sendAscError(
      r.res,
      409,
      'ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE',
      'An attribute value has already been used.',
      `You've already used version ${versionString} for this app.`,
    );
  }
  const id = newId('asv-');
  ctx.state.versions.set(id, { id, appId, platform, versionString, appStoreState: 'PREPARE_FOR_SUBMISSION' });
  sendJson(r.res, 201, document(ctx, versionView(ctx, id)));
}

async function attachBuild(ctx: StoreContext, r: StoreRequest): Promise<void> {
  const version = ctx.state.versions.get(r.params[0]);
  if (!version) return notFound(r, 'appStoreVersions', r.params[0]);
  const body = await readFields(r.req);
  const buildId = (body.data as { id?: unknown } | undefined)?.id;
  const build = typeof buildId === 'string' ? ctx.state.builds.get(buildId) : undefined;
  if (!build) return invalid(r, 'data must name an existing build.');
  if (build.processingState !== 'VALID') return invalid(r, `The build is ${build.processingState}; only a VALID build can be attached.`);
  if (build.version !== version.versionString)
    return invalid(r, `The build belongs to version ${build.version}, not ${version.versionString}.`);
  version.buildId = build.id;
  r.res.writeHead(204).end();
}

function submissionView(ctx: StoreContext, s: ReviewSubmission) {
  return resource(
    ctx,
    'reviewSubmissions',
    s.id,
    { platform: s.platform, state: s.state, submittedDate: s.submittedAt ? new Date(s.submittedAt).toISOString() : null },
    { app: toOne('apps', s.appId), items: { data: s.items.map((i) => ({ type: 'reviewSubmissionItems', id: i.id })) } },
  );
}

async function listReviewSubmissions(ctx: StoreContext, r: StoreRequest): Promise<void> {
  const q = r.url.searchParams;
  const appId = q.get('filter[app]');
  if (!appId)
    return sendAscError(
      r.res,
      400,
      'PARAMETER_ERROR.REQUIRED',
      'A required parameter is missing.',
      "The parameter 'filter[app]' is required.",
    );
  const states = q.get('filter[state]')?.split(',');
  const platform = q.get('filter[platform]');
  const found = [...ctx.state.submissions.values()].filter(
    (s) => s.appId === appId && (!platform || s.platform === platform) && (!states || states.includes(s.state)),
  );
  sendJson(
    r.res,
    200,
    document(
      ctx,
      found.map((s) => submissionView(ctx, s)),
      { meta: { paging: { total: found.length, limit: 50 } } },
    ),
  );
}

async function createReviewSubmission(ctx: StoreContext, r: StoreRequest): Promise<void> {
  const body = await readFields(r.req);
  const appId = relationshipId(body, 'app');
  const platform = str(attributesOf(body).platform) ?? 'IOS';
  if (!appId) return invalid(r, "The relationship 'app' is required.");
  const open = [...ctx.state.submissions.values()].find(
    (s) => s.appId === appId && s.platform === platform && s.state === 'READY_FOR_REVIEW',
  );
  if (open)
    return sendAscError(
      r.res,
      409,
      'ENTITY_ERROR',
      'There is already a review submission in progress.',
      `Review submission ${open.id} is still open for this app and platform.`,
    );
  const submission: ReviewSubmission = { id: newId('rs-'), appId, platform, state: 'READY_FOR_REVIEW', items: [] };
  ctx.state.submissions.set(submission.id, submission);
  ctx.state.counters.reviewSubmissions++;
  sendJson(r.res, 201, document(ctx, submissionView(ctx, submission)));
}

async function createReviewSubmissionItem(ctx: StoreContext, r: StoreRequest): Promise<void> {
  const body = await readFields(r.req);
  const submission = ctx.state.submissions.get(relationshipId(body, 'reviewSubmission') ?? '');
  const version = ctx.state.versions.get(relationshipId(body, 'appStoreVersion') ?? '');
  if (!submission || !version)
    return invalid(r, "The relationships 'reviewSubmission' and 'appStoreVersion' must name existing resources.");
  if (submission.state !== 'READY_FOR_REVIEW')
    return invalid(r, `The review submission is ${submission.state}; items can be added while it is READY_FOR_REVIEW only.`);
  if (!version.buildId) return invalid(r, 'The app store version has no build attached.');
  if (submission.items.some((i) => i.versionId === version.id && i.state !== 'REMOVED')) {
    return sendAscError(
      r.res,
      409,
      'ENTITY_ERROR.DUPLICATE',
      'The item is already in the submission.',
      `App store version ${version.id} is already an item of review submission ${submission.id}.`,
    );
  }
  const item = { id: newId('rsi-'), versionId: version.id, state: 'READY_FOR_REVIEW' as const };
  submission.items.push(item);
  ctx.state.reviewItems.set(item.id, { submissionId: submission.id, item });
  sendJson(
    r.res,
    201,
    document(
      ctx,
      resource(ctx, 'reviewSubmissionItems', item.id, { state: item.state }, { appStoreVersion: toOne('appStoreVersions', version.id) }),
    ),
  );
}

async function updateReviewSubmission(ctx: StoreContext, r: StoreRequest): Promise<void> {
  const submission = ctx.state.submissions.get(r.params[0]);
  if (!submission) return notFound(r, 'reviewSubmissions', r.params[0]);
  const a = attributesOf(await readFields(r.req));
  if (a.submitted === true) {
    if (submission.state !== 'READY_FOR_REVIEW') return invalid(r, `The review submission is ${submission.state} and cannot be submitted.`);
    if (!submission.items.some((i) => i.state === 'READY_FOR_REVIEW')) return invalid(r, 'The review submission has no items.');
    ctx.state.startReview(submission);
    ctx.state.counters.submissionsSubmitted++;
  } else if (a.canceled === true) {
    if (submission.state !== 'WAITING_FOR_REVIEW' && submission.state !== 'IN_REVIEW' && submission.state !== 'UNRESOLVED_ISSUES') {
      return invalid(r, `The review submission is ${submission.state} and cannot be canceled.`);
    }
    ctx.state.cancelReview(submission);
  } else {
    return invalid(r, 'Set submitted or canceled to true.');
  }
  sendJson(r.res, 200, document(ctx, submissionView(ctx, submission)));
}

async function getReviewSubmission(ctx: StoreContext, r: StoreRequest): Promise<void> {
  const submission = ctx.state.submissions.get(r.params[0]);
  if (!submission) return notFound(r, 'reviewSubmissions', r.params[0]);
  // App Review's message lives in Resolution Center; the emulator puts it beside the state.
  sendJson(
    r.res,
    200,
    document(
      ctx,
      submissionView(ctx, submission),
      submission.rejectionReason ? { meta: { rejectionReason: submission.rejectionReason } } : {},
    ),
  );
}

export const ASC_ROUTES: StoreRouteSpec[] = [
  { api: 'asc', name: 'createBuildUpload', method: 'POST', pattern: /^\/v1\/buildUploads$/, auth: true, handler: createBuildUpload },
  { api: 'asc', name: 'getBuildUpload', method: 'GET', pattern: /^\/v1\/buildUploads\/([\w-]+)$/, auth: true, handler: getBuildUpload },
  { api: 'asc', name: 'createUploadFile', method: 'POST', pattern: /^\/v1\/buildUploadFiles$/, auth: true, handler: createUploadFile },
  {
    api: 'asc',
    name: 'commitUploadFile',
    method: 'PATCH',
    pattern: /^\/v1\/buildUploadFiles\/([\w-]+)$/,
    auth: true,
    handler: commitUploadFile,
  },
  { api: 'asc', name: 'uploadPart', method: 'PUT', pattern: /^\/_upload\/asc\/([\w-]+)\/(\d+)$/, auth: false, handler: uploadPart },
  { api: 'asc', name: 'getBuild', method: 'GET', pattern: /^\/v1\/builds\/([\w-]+)$/, auth: true, handler: getBuild },
  {
    api: 'asc',
    name: 'appStoreVersions',
    method: 'GET',
    pattern: /^\/v1\/apps\/([\w-]+)\/appStoreVersions$/,
    auth: true,
    handler: listAppStoreVersions,
  },
  { api: 'asc', name: 'appStoreVersions', method: 'POST', pattern: /^\/v1\/appStoreVersions$/, auth: true, handler: createAppStoreVersion },
  {
    api: 'asc',
    name: 'attachBuild',
    method: 'PATCH',
    pattern: /^\/v1\/appStoreVersions\/([\w-]+)\/relationships\/build$/,
    auth: true,
    handler: attachBuild,
  },
  {
    api: 'asc',
    name: 'reviewSubmissions',
    method: 'GET',
    pattern: /^\/v1\/reviewSubmissions$/,
    auth: true,
    handler: listReviewSubmissions,
  },
  {
    api: 'asc',
    name: 'reviewSubmissions',
    method: 'POST',
    pattern: /^\/v1\/reviewSubmissions$/,
    auth: true,
    handler: createReviewSubmission,
  },
  {
    api: 'asc',
    name: 'reviewSubmissionItems',
    method: 'POST',
    pattern: /^\/v1\/reviewSubmissionItems$/,
    auth: true,
    handler: createReviewSubmissionItem,
  },
  {
    api: 'asc',
    name: 'updateReviewSubmission',
    method: 'PATCH',
    pattern: /^\/v1\/reviewSubmissions\/([\w-]+)$/,
    auth: true,
    handler: updateReviewSubmission,
  },
  {
    api: 'asc',
    name: 'getReviewSubmission',
    method: 'GET',
    pattern: /^\/v1\/reviewSubmissions\/([\w-]+)$/,
    auth: true,
    handler: getReviewSubmission,
  },
];
