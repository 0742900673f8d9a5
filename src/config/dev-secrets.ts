import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

// Local development needs an API key and a webhook signing secret without any setup.
// They are created once in the data folder and reused on every start.

export function readOrCreate(file: string, create: () => string): { value: string; created: boolean } {
  try {
    const value = fs.readFileSync(file, 'utf8').trim();
    if (value) return { value, created: false };
  } catch {
    /* not there yet */
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const value = create();
  try {
    fs.writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
    return { value, created: true };
  } catch {
    // Another process created it first: use theirs.
    return { value: fs.readFileSync(file, 'utf8').trim(), created: false };
  }
}

export interface DevSecrets {
  apiKey: string;
  webhookSecret: string;
  created: { apiKey: boolean; webhookSecret: boolean };
}

export function ensureDevSecrets(dataDir: string): DevSecrets {
  const key = readOrCreate(path.join(dataDir, 'dev-api-key'), () => `dj_${randomBytes(24).toString('base64url')}`);
  const secret = readOrCreate(path.join(dataDir, 'webhook-secret'), () => `whsec_${randomBytes(32).toString('base64')}`);
  return {
    apiKey: key.value,
    webhookSecret: secret.value,
    created: { apiKey: key.created, webhookSecret: secret.created },
  };
}

/** The owner name of the local admin key created for `npm start`. */
export const DEV_OWNER = 'local';

/**
 * For a secret `variable` the configuration leaves unset: in production that is a configuration
 * error (the process exits saying what to set); elsewhere the local secrets from the data folder stand in.
 */
export function devSecretsUnlessProduction(config: { NODE_ENV: string; dataDir: string }, variable: string, format: string): DevSecrets {
  if (config.NODE_ENV === 'production') {
    console.error(`Invalid configuration:\n  ${variable}: required when NODE_ENV=production (${format})`);
    process.exit(1);
  }
  return ensureDevSecrets(config.dataDir);
}
