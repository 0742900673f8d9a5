import fs from 'node:fs';
import { createPrivateKey, KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { bearerJsonCalls, callJson, ProviderConnection } from '../../../net/provider-calls';
import { ProviderHttpError } from '../../../net/provider-errors';
import { uploadTimeoutMs } from './upload-timeout';

// Google Play Developer API client (androidpublisher v3) with a service account:
//   POST {token_uri}  grant_type=jwt-bearer, assertion = RS256 JWT {iss, scope, aud, iat, exp}
//   POST /androidpublisher/v3/applications/{pkg}/edits                               edits.insert
//   POST /upload/androidpublisher/v3/applications/{pkg}/edits/{edit}/bundles?uploadType=media
//   GET|PUT /androidpublisher/v3/applications/{pkg}/edits/{edit}/tracks/{track}      tracks.get / update
//   POST /androidpublisher/v3/applications/{pkg}/edits/{edit}:commit                  edits.commit
//   DELETE /androidpublisher/v3/applications/{pkg}/edits/{edit}                       edits.delete

export const PLAY_SCOPE = 'https://www.googleapis.com/auth/androidpublisher';
const ASSERTION_LIFETIME_S = 3600;
const TOKEN_REFRESH_MARGIN_MS = 60_000;

export interface ServiceAccount {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri: string;
}

export interface PlayRelease {
  name?: string;
  versionCodes: string[];
  status: 'draft' | 'inProgress' | 'halted' | 'completed';
  userFraction?: number;
  releaseNotes?: { language: string; text: string }[];
}

export interface PlayClientOptions {
  /** e.g. https://androidpublisher.googleapis.com */
  baseUrl: string;
  account: ServiceAccount;
  /** The platform's outbound client settings; each call carries its own bearer token. */
  http: Omit<ProviderConnection, 'credentials'>;
  signal?: AbortSignal;
}

/** Parses a service-account JSON key file's text; throws naming what is missing. */
export function parseServiceAccount(text: string): ServiceAccount {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error('the service account is not JSON');
  }
  for (const field of ['client_email', 'private_key', 'token_uri']) {
    if (typeof raw[field] !== 'string' || !raw[field]) throw new Error(`the service account has no ${field}`);
  }
  return raw as unknown as ServiceAccount;
}

export function createPlayClient(o: PlayClientOptions) {
  const base = o.baseUrl.replace(/\/+$/, '');
  const key: KeyObject = createPrivateKey(o.account.private_key);
  let cached: { token: string; expiresAt: number } | undefined;

  const accessToken = async (): Promise<string> => {
    if (cached && cached.expiresAt - TOKEN_REFRESH_MARGIN_MS > Date.now()) return cached.token;
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ scope: PLAY_SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(o.account.private_key_id ? { kid: o.account.private_key_id } : {}) })
      .setIssuer(o.account.client_email)
      .setAudience(o.account.token_uri)
      .setIssuedAt(now)
      .setExpirationTime(now + ASSERTION_LIFETIME_S)
      .sign(key);
    const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString();
    const res = (await callJson(o.http, {
      method: 'POST',
      url: o.account.token_uri,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(form),
      signal: o.signal,
    })) as { access_token?: unknown; expires_in?: unknown };
    if (typeof res.access_token !== 'string')
      throw new ProviderHttpError(502, 'Google OAuth: the token endpoint returned no access_token', 'bad_response', undefined);
    cached = { token: res.access_token, expiresAt: Date.now() + Number(res.expires_in ?? 3600) * 1000 };
    return cached.token;
  };

  const send = bearerJsonCalls(o.http, { baseUrl: base, token: accessToken, signal: o.signal });
  const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) =>
    (await send(method, path, body)) as Record<string, unknown>;
  const app = (pkg: string) => `/androidpublisher/v3/applications/${encodeURIComponent(pkg)}`;
  const edit = (pkg: string, editId: string) => `${app(pkg)}/edits/${encodeURIComponent(editId)}`;

  return {
    accessToken,

    async insertEdit(pkg: string): Promise<string> {
      const res = await call('POST', `${app(pkg)}/edits`, {});
      if (typeof res.id !== 'string')
        throw new ProviderHttpError(502, 'Google Play: edits.insert returned no id', 'bad_response', undefined);
      return res.id;
    },

    async uploadBundle(pkg: string, editId: string, filePath: string, size: number): Promise<{ versionCode: number; sha256?: string }> {
      const headers = { Authorization: `Bearer ${await accessToken()}`, 'Content-Type': 'application/octet-stream' };
      const res = (await callJson(o.http, {
        method: 'POST',
        url: `${base}/upload${edit(pkg, editId)}/bundles?uploadType=media`,
        headers,
        body: { stream: fs.createReadStream(filePath), length: size },
        signal: o.signal,
        timeoutMs: uploadTimeoutMs(o.http.timeoutMs, size),
      })) as { versionCode?: unknown; sha256?: unknown };
      return { versionCode: Number(res.versionCode), sha256: typeof res.sha256 === 'string' ? res.sha256 : undefined };
    },

    async track(pkg: string, editId: string, track: string): Promise<PlayRelease[]> {
      const res = await call('GET', `${edit(pkg, editId)}/tracks/${encodeURIComponent(track)}`);
      return Array.isArray(res.releases) ? (res.releases as PlayRelease[]) : [];
    },

    async updateTrack(pkg: string, editId: string, track: string, releases: PlayRelease[]): Promise<void> {
      await call('PUT', `${edit(pkg, editId)}/tracks/${encodeURIComponent(track)}`, { track, releases });
    },

    async commitEdit(pkg: string, editId: string): Promise<void> {
      await call('POST', `${edit(pkg, editId)}:commit`);
    },

    async deleteEdit(pkg: string, editId: string): Promise<void> {
      await call('DELETE', edit(pkg, editId));
    },
  };
}

export type PlayClient = ReturnType<typeof createPlayClient>;
