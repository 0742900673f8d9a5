import { createPublicKey, KeyObject, randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';

// Credentials the emulated stores accept:
//  - App Store Connect: an ES256 JWT per request, signed with a registered API key
//    (kid = key id, iss = issuer id, aud = appstoreconnect-v1, lifetime at most 20 minutes);
//  - Google Play: an OAuth access token obtained at the token endpoint with a service
//    account's RS256 JWT (jwt-bearer grant, scope androidpublisher).

export const ASC_AUDIENCE = 'appstoreconnect-v1';
export const PLAY_SCOPE = 'https://www.googleapis.com/auth/androidpublisher';
const ASC_MAX_LIFETIME_S = 20 * 60;
const PLAY_MAX_LIFETIME_S = 60 * 60;
const ACCESS_TOKEN_TTL_S = 3600;

export interface AscApiKey {
  keyId: string;
  issuerId: string;
  publicKeyPem: string;
}

export interface PlayServiceAccount {
  clientEmail: string;
  publicKeyPem: string;
}

export class AuthError extends Error {}

export class StoreAuth {
  private readonly ascKeys = new Map<string, { issuerId: string; key: KeyObject }>();
  private readonly playAccounts = new Map<string, KeyObject>();
  private readonly accessTokens = new Map<string, { clientEmail: string; expiresAt: number }>();

  constructor(asc: AscApiKey[], play: PlayServiceAccount[]) {
    for (const k of asc) this.ascKeys.set(k.keyId, { issuerId: k.issuerId, key: createPublicKey(k.publicKeyPem) });
    for (const a of play) this.playAccounts.set(a.clientEmail, createPublicKey(a.publicKeyPem));
  }

  /** Checks `Authorization: Bearer <ES256 JWT>`; throws AuthError saying what is wrong. */
  async verifyAsc(authorization: string | undefined): Promise<void> {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) throw new AuthError('Provide a properly configured and signed bearer token, and make sure that it has not expired.');
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(token);
      if (header.alg !== 'ES256') throw new AuthError(`The token must be signed with ES256, not ${String(header.alg)}.`);
      kid = header.kid;
    } catch (e) {
      if (e instanceof AuthError) throw e;
      throw new AuthError('The bearer token is not a JWT.');
    }
    const key = kid ? this.ascKeys.get(kid) : undefined;
    if (!key) throw new AuthError(`The key id ${kid ? `"${kid}" ` : ''}is not a known API key.`);
    try {
      const { payload } = await jwtVerify(token, key.key, { algorithms: ['ES256'], audience: ASC_AUDIENCE, issuer: key.issuerId, requiredClaims: ['exp'] });
      const iat = payload.iat ?? Math.floor(Date.now() / 1000);
      if (payload.exp! - iat > ASC_MAX_LIFETIME_S) throw new AuthError('The token lifetime exceeds 20 minutes.');
    } catch (e) {
      if (e instanceof AuthError) throw e;
      throw new AuthError(`The bearer token was rejected: ${(e as Error).message}`);
    }
  }

  /** The jwt-bearer grant: verifies the assertion and issues an access token. */
  async exchange(assertion: string, tokenUrl: string): Promise<{ access_token: string; expires_in: number; token_type: 'Bearer' }> {
    let iss: string | undefined;
    try {
      iss = decodeJwt(assertion).iss;
    } catch {
      throw new AuthError('Invalid JWT: the assertion is not a JWT.');
    }
    const key = iss ? this.playAccounts.get(iss) : undefined;
    if (!key) throw new AuthError(`Invalid JWT: no service account "${iss ?? ''}".`);
    try {
      const { payload } = await jwtVerify(assertion, key, { algorithms: ['RS256'], audience: tokenUrl, issuer: iss, requiredClaims: ['exp', 'iat', 'scope'] });
      if (payload.exp! - payload.iat! > PLAY_MAX_LIFETIME_S) throw new AuthError('Invalid JWT: the token lifetime exceeds one hour.');
      if (!String(payload.scope).split(' ').includes(PLAY_SCOPE)) throw new AuthError(`Invalid JWT: scope must include ${PLAY_SCOPE}.`);
    } catch (e) {
      if (e instanceof AuthError) throw e;
      throw new AuthError(`Invalid JWT Signature or claims: ${(e as Error).message}`);
    }
    const accessToken = `ya29.emulated-${randomBytes(24).toString('base64url')}`;
    this.accessTokens.set(accessToken, { clientEmail: iss!, expiresAt: Date.now() + ACCESS_TOKEN_TTL_S * 1000 });
    return { access_token: accessToken, expires_in: ACCESS_TOKEN_TTL_S - 1, token_type: 'Bearer' };
  }

  /** Checks `Authorization: Bearer <access token>` on Play API calls. */
  verifyPlay(authorization: string | undefined): void {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    const entry = token ? this.accessTokens.get(token) : undefined;
    if (!entry || entry.expiresAt < Date.now()) throw new AuthError('Request had invalid authentication credentials. Expected OAuth 2 access token.');
  }
}
