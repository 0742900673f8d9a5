import path from 'node:path';
import type { AppConfig } from '../../config/env';

/** The variables the local store setup reads. */
type StoresConfig = Pick<
  AppConfig,
  | 'dataDir'
  | 'ASC_KEY_ID'
  | 'ASC_APP_ID'
  | 'PLAY_SERVICE_ACCOUNT_JSON'
  | 'PLAY_SERVICE_ACCOUNT_JSON_PATH'
  | 'PLAY_PACKAGE_NAME'
  | 'STORE_EMULATOR_PORT'
  | 'STORE_EMULATOR_PROCESSING_TIME'
  | 'STORE_EMULATOR_REVIEW_TIME'
>;
import { ensureStoreDevKeys } from './dev-keys';
import { StoreEmulator, startStoreEmulator } from './server';

// Local runs with no store credentials: start the store emulator with generated dev keys and
// hand back the environment that points the App Store Connect and Google Play clients at it.

export const DEV_ASC_APP_ID = '6450000001';
export const DEV_PLAY_PACKAGE = 'com.example.durablejobs';

export interface DevStores {
  emulator: StoreEmulator;
  /** ASC_* and PLAY_* variables for the worker and API processes. */
  env: Record<string, string>;
}

export function storesNeedEmulator(config: StoresConfig): { ios: boolean; android: boolean } {
  return {
    ios: !config.ASC_KEY_ID,
    android: !config.PLAY_SERVICE_ACCOUNT_JSON && !config.PLAY_SERVICE_ACCOUNT_JSON_PATH,
  };
}

export async function startDevStores(config: StoresConfig, port = config.STORE_EMULATOR_PORT): Promise<DevStores> {
  const keys = ensureStoreDevKeys(config.dataDir);
  const emulator = await startStoreEmulator({
    port,
    ascKeys: [keys.asc],
    playAccounts: [keys.play],
    processingMs: config.STORE_EMULATOR_PROCESSING_TIME,
    reviewMs: config.STORE_EMULATOR_REVIEW_TIME,
    // A restarted `npm start` still knows the uploads, builds and reviews its running jobs wait on.
    stateFile: path.join(config.dataDir, 'emulator', 'stores.json'),
  });
  const need = storesNeedEmulator(config);
  const env: Record<string, string> = {};
  if (need.ios) {
    Object.assign(env, {
      ASC_BASE_URL: emulator.ascBaseUrl,
      ASC_KEY_ID: keys.asc.keyId,
      ASC_ISSUER_ID: keys.asc.issuerId,
      ASC_PRIVATE_KEY_PATH: keys.asc.privateKeyPath,
      ASC_APP_ID: config.ASC_APP_ID ?? DEV_ASC_APP_ID,
    });
  }
  if (need.android) {
    Object.assign(env, {
      PLAY_BASE_URL: emulator.playBaseUrl,
      PLAY_SERVICE_ACCOUNT_JSON_PATH: keys.writeServiceAccount(emulator.playTokenUrl),
      PLAY_PACKAGE_NAME: config.PLAY_PACKAGE_NAME ?? DEV_PLAY_PACKAGE,
    });
  }
  return { emulator, env };
}
