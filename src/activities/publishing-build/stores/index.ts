import fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import type { PublishingBuildConfig } from '../config';
import { AscClient, createAscClient } from './asc-client';
import { createPlayClient, parseServiceAccount, PlayClient } from './play-client';
import { STORE_FAILURE_TYPES } from './store-failure';

export type { AscClient, PlayClient };
export { ProviderHttpError } from '../../../net/provider-errors';

// The store clients, from configuration, on the platform's outbound HTTP client (SSRF guard,
// timeouts, capped answers). The configured hosts (API base URLs, the service account's token
// endpoint) are trusted, so a loopback emulator works without OUTBOUND_ALLOW_HOSTS.

const hostOf = (url: string) => new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();

function httpFor(config: PublishingBuildConfig, urls: string[]) {
  return {
    policy: { allowHosts: [...config.OUTBOUND_ALLOW_HOSTS, ...urls.map(hostOf)] },
    timeoutMs: Math.max(config.FETCH_TIMEOUT, 60_000),
    connectTimeoutMs: config.FETCH_CONNECT_TIMEOUT,
  };
}

function notConfigured(what: string): ApplicationFailure {
  return ApplicationFailure.create({ type: STORE_FAILURE_TYPES.notConfigured, message: `the worker has no ${what}`, nonRetryable: true });
}

/** A secret given inline, or else read from the file its `…_PATH` variable names; undefined when neither is set. */
function secretFrom(value: string | undefined, path: string | undefined, pathVar: string): string | undefined {
  if (value || !path) return value;
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw notConfigured(`readable ${pathVar} (${(e as Error).message})`);
  }
}

export function ascClientFrom(config: PublishingBuildConfig, signal?: AbortSignal): AscClient {
  if (!config.ASC_KEY_ID || !config.ASC_ISSUER_ID) throw notConfigured('App Store Connect API key: set ASC_KEY_ID and ASC_ISSUER_ID');
  const pem = secretFrom(config.ASC_PRIVATE_KEY, config.ASC_PRIVATE_KEY_PATH, 'ASC_PRIVATE_KEY_PATH');
  if (!pem) throw notConfigured('App Store Connect private key: set ASC_PRIVATE_KEY or ASC_PRIVATE_KEY_PATH');
  return createAscClient({
    baseUrl: config.ASC_BASE_URL,
    keyId: config.ASC_KEY_ID,
    issuerId: config.ASC_ISSUER_ID,
    privateKeyPem: pem,
    http: httpFor(config, [config.ASC_BASE_URL]),
    signal,
  });
}

export function playClientFrom(config: PublishingBuildConfig, signal?: AbortSignal): PlayClient {
  const text = secretFrom(config.PLAY_SERVICE_ACCOUNT_JSON, config.PLAY_SERVICE_ACCOUNT_JSON_PATH, 'PLAY_SERVICE_ACCOUNT_JSON_PATH');
  if (!text) throw notConfigured('Google Play service account: set PLAY_SERVICE_ACCOUNT_JSON or PLAY_SERVICE_ACCOUNT_JSON_PATH');
  let account;
  try {
    account = parseServiceAccount(text);
  } catch (e) {
    throw notConfigured(`usable Google Play service account (${(e as Error).message})`);
  }
  return createPlayClient({
    baseUrl: config.PLAY_BASE_URL,
    account,
    http: httpFor(config, [config.PLAY_BASE_URL, account.token_uri]),
    signal,
  });
}
