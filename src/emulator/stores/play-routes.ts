import { createHash } from 'node:crypto';
import { delay, readBody, readFields, sendJson } from '../http-util';
import { AuthError } from './auth';
import { sendPlayError, StoreContext, StoreRequest, StoreRouteSpec } from './context';
import { newId, PlayEdit, PlayRelease } from './state';
import { checkAab } from './zip-check';

// Google Play Developer API subset (androidpublisher v3): the OAuth token endpoint,
// edits.insert, edits.bundles.upload (media upload), edits.tracks.get/update, edits.commit, edits.delete.

const MAX_BUNDLE_BYTES = 512 * 1024 * 1024;
const EDIT_TTL_MS = 60 * 60_000;
const STATUSES = ['draft', 'inProgress', 'halted', 'completed'];
export const DRAFT_APP_MESSAGE = 'Only releases with status draft may be created on draft app.';

async function token(ctx: StoreContext, r: StoreRequest): Promise<void> {
  const fields = await readFields(r.req);
  if (fields.grant_type !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || typeof fields.assertion !== 'string') {
    return sendJson(r.res, 400, {
      error: 'unsupported_grant_type',
      error_description: 'grant_type must be urn:ietf:params:oauth:grant-type:jwt-bearer with an assertion',
    });
  }
  try {
    const issued = await ctx.auth.exchange(fields.assertion, `${ctx.origin()}/token`);
    ctx.state.counters.tokenExchanges++;
    sendJson(r.res, 200, issued);
  } catch (e) {
    if (!(e instanceof AuthError)) throw e;
    ctx.state.counters.authFailures++;
    sendJson(r.res, 400, { error: 'invalid_grant', error_description: e.message });
  }
}

/** A route on one edit: runs `handler` when the edit exists and is still open, else answers Play's error. */
function onOpenEdit(handler: (ctx: StoreContext, r: StoreRequest, edit: PlayEdit) => Promise<void>) {
  return async (ctx: StoreContext, r: StoreRequest): Promise<void> => {
    const edit = openEdit(ctx, r);
    if (edit) await handler(ctx, r, edit);
  };
}

function openEdit(ctx: StoreContext, r: StoreRequest): PlayEdit | undefined {
  const [packageName, editId] = r.params;
  const edit = ctx.state.edits.get(editId);
  if (!edit || edit.packageName !== packageName || edit.committed) {
    sendPlayError(r.res, 404, `Edit ${editId} not found or already committed.`, { code: 'NOT_FOUND' });
    return undefined;
  }
  if (edit.expiresAt < Date.now()) {
    sendPlayError(r.res, 400, 'This Edit has expired, please create a new Edit.', { code: 'FAILED_PRECONDITION' });
    return undefined;
  }
  return edit;
}

/** An AppEdit resource as Google Play answers it. */
const editView = (edit: PlayEdit) => ({ id: edit.id, expiryTimeSeconds: String(Math.floor(edit.expiresAt / 1000)) });

async function insertEdit(ctx: StoreContext, r: StoreRequest): Promise<void> {
  const edit: PlayEdit = {
    id: newId(),
    packageName: r.params[0],
    expiresAt: Date.now() + EDIT_TTL_MS,
    bundles: [],
    tracks: new Map(),
    committed: false,
  };
  ctx.state.edits.set(edit.id, edit);
  ctx.state.counters.editsInserted++;
  sendJson(r.res, 200, editView(edit));
}

async function uploadBundle(ctx: StoreContext, r: StoreRequest, edit: PlayEdit): Promise<void> {
  if (r.url.searchParams.get('uploadType') !== 'media')
    return sendPlayError(r.res, 400, 'uploadType=media is required for this emulated upload.');
  const bytes = await readBody(r.req, MAX_BUNDLE_BYTES);
  if (ctx.state.behaviour.uploadDelayMs) await delay(ctx.state.behaviour.uploadDelayMs);
  const check = checkAab(bytes);
  if (!check.ok) return sendPlayError(r.res, 400, check.problem!, { code: 'INVALID_ARGUMENT' });
  const versionCode = Number(check.buildNumber);
  if (!Number.isInteger(versionCode) || versionCode < 1)
    return sendPlayError(r.res, 400, 'The Android App Bundle manifest has no valid versionCode.', { code: 'INVALID_ARGUMENT' });
  const used = ctx.state.playVersionCodes.get(edit.packageName) ?? new Set<number>();
  if (used.has(versionCode) || edit.bundles.includes(versionCode))
    return sendPlayError(r.res, 403, `Version code ${versionCode} has already been used.`, { code: 'PERMISSION_DENIED' });
  edit.bundles.push(versionCode);
  ctx.state.counters.bundlesUploaded++;
  sendJson(r.res, 200, {
    versionCode,
    sha1: createHash('sha1').update(bytes).digest('hex'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  });
}

function trackOf(ctx: StoreContext, edit: PlayEdit, track: string): PlayRelease[] {
  return edit.tracks.get(track) ?? ctx.state.playTracks.get(edit.packageName)?.get(track) ?? [];
}

async function getTrack(ctx: StoreContext, r: StoreRequest, edit: PlayEdit): Promise<void> {
  sendJson(r.res, 200, { track: r.params[2], releases: trackOf(ctx, edit, r.params[2]) });
}

async function updateTrack(ctx: StoreContext, r: StoreRequest, edit: PlayEdit): Promise<void> {
  const track = r.params[2];
  const body = await readFields(r.req);
  const releases = body.releases;
  if (!Array.isArray(releases) || !releases.length)
    return sendPlayError(r.res, 400, 'Track must have at least one release.', { code: 'INVALID_ARGUMENT' });
  const known = new Set([...(ctx.state.playVersionCodes.get(edit.packageName) ?? []), ...edit.bundles]);
  const accepted: PlayRelease[] = [];
  for (const raw of releases as Record<string, unknown>[]) {
    const status = String(raw.status ?? '');
    if (!STATUSES.includes(status))
      return sendPlayError(r.res, 400, `Release status must be one of ${STATUSES.join(', ')}.`, { code: 'INVALID_ARGUMENT' });
    if (status !== 'draft' && (ctx.state.behaviour.draftApps ?? []).includes(edit.packageName))
      return sendPlayError(r.res, 400, DRAFT_APP_MESSAGE, { code: 'INVALID_ARGUMENT' });
    const codes = Array.isArray(raw.versionCodes) ? raw.versionCodes.map(String) : [];
    const unknown = codes.find((c) => !known.has(Number(c)));
    if (!codes.length || unknown)
      return sendPlayError(r.res, 400, unknown ? `Version code ${unknown} has not been uploaded.` : 'A release needs versionCodes.', {
        code: 'INVALID_ARGUMENT',
      });
    const fraction = raw.userFraction;
    if (status === 'inProgress' || status === 'halted') {
      if (typeof fraction !== 'number' || !(fraction > 0 && fraction < 1))
        return sendPlayError(r.res, 400, 'A staged rollout needs a userFraction between 0 and 1 (exclusive).', {
          code: 'INVALID_ARGUMENT',
        });
    } else if (fraction !== undefined) {
      return sendPlayError(r.res, 400, `userFraction is only allowed for staged rollouts (status inProgress or halted), not ${status}.`, {
        code: 'INVALID_ARGUMENT',
      });
    }
    const notes = Array.isArray(raw.releaseNotes) ? (raw.releaseNotes as { language: string; text: string }[]) : undefined;
    if (notes?.some((n) => typeof n.text !== 'string' || n.text.length > 500))
      return sendPlayError(r.res, 400, 'Release notes must be at most 500 characters per language.', { code: 'INVALID_ARGUMENT' });
    accepted.push({
      name: typeof raw.name === 'string' ? raw.name : undefined,
      versionCodes: codes,
      status,
      ...(typeof fraction === 'number' ? { userFraction: fraction } : {}),
      ...(notes ? { releaseNotes: notes } : {}),
    });
  }
  edit.tracks.set(track, accepted);
  sendJson(r.res, 200, { track, releases: accepted });
}

async function commitEdit(ctx: StoreContext, r: StoreRequest, edit: PlayEdit): Promise<void> {
  edit.committed = true;
  const used = ctx.state.playVersionCodes.get(edit.packageName) ?? new Set<number>();
  for (const code of edit.bundles) used.add(code);
  ctx.state.playVersionCodes.set(edit.packageName, used);
  const tracks = ctx.state.playTracks.get(edit.packageName) ?? new Map<string, PlayRelease[]>();
  for (const [name, releases] of edit.tracks) tracks.set(name, releases);
  ctx.state.playTracks.set(edit.packageName, tracks);
  ctx.state.counters.editsCommitted++;
  sendJson(r.res, 200, editView(edit));
}

async function deleteEdit(ctx: StoreContext, r: StoreRequest, edit: PlayEdit): Promise<void> {
  ctx.state.edits.delete(edit.id);
  r.res.writeHead(204).end();
}

const APP = String.raw`\/androidpublisher\/v3\/applications\/([\w.]+)`;
const EDIT = String.raw`${APP}\/edits\/([\w-]+)`;

export const PLAY_ROUTES: StoreRouteSpec[] = [
  { api: 'play', name: 'token', method: 'POST', pattern: /^\/token$/, auth: false, handler: token },
  { api: 'play', name: 'insertEdit', method: 'POST', pattern: new RegExp(`^${APP}\\/edits$`), auth: true, handler: insertEdit },
  {
    api: 'play',
    name: 'uploadBundle',
    method: 'POST',
    pattern: new RegExp(`^\\/upload${EDIT}\\/bundles$`),
    auth: true,
    handler: onOpenEdit(uploadBundle),
  },
  {
    api: 'play',
    name: 'tracks',
    method: 'GET',
    pattern: new RegExp(`^${EDIT}\\/tracks\\/([\\w-]+)$`),
    auth: true,
    handler: onOpenEdit(getTrack),
  },
  {
    api: 'play',
    name: 'tracks',
    method: 'PUT',
    pattern: new RegExp(`^${EDIT}\\/tracks\\/([\\w-]+)$`),
    auth: true,
    handler: onOpenEdit(updateTrack),
  },
  { api: 'play', name: 'commitEdit', method: 'POST', pattern: new RegExp(`^${EDIT}:commit$`), auth: true, handler: onOpenEdit(commitEdit) },
  { api: 'play', name: 'insertEdit', method: 'DELETE', pattern: new RegExp(`^${EDIT}$`), auth: true, handler: onOpenEdit(deleteEdit) },
];
