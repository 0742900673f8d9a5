import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readOrCreate } from '../../config/dev-secrets';
import type { AscApiKey, PlayServiceAccount } from './auth';

// Store credentials for local runs, created once under DATA_DIR/store-dev-keys and reused:
// an App Store Connect API key (EC P-256, .p8) and a Google Play service account (RSA 2048).
// The store emulator is given their public halves; the workers sign with the private ones.

export interface StoreDevKeys {
  asc: AscApiKey & { privateKeyPath: string };
  play: PlayServiceAccount & { privateKeyId: string; privateKeyPem: string };
  /** Writes the service-account JSON with the emulator's token URL; returns its path. */
  writeServiceAccount(tokenUrl: string): string;
}

const pem = (type: 'ec' | 'rsa') => () => {
  const { privateKey } = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().trim();
};

const publicPem = (privatePem: string) => createPublicKey(createPrivateKey(privatePem)).export({ type: 'spki', format: 'pem' }).toString();

export function ensureStoreDevKeys(dataDir: string): StoreDevKeys {
  const dir = path.join(dataDir, 'store-dev-keys');
  const ids = readOrCreate(path.join(dir, 'ids.json'), () =>
    JSON.stringify({ ascKeyId: randomBytes(5).toString('hex').toUpperCase(), ascIssuerId: crypto.randomUUID(), playKeyId: randomBytes(20).toString('hex') }),
  );
  const { ascKeyId, ascIssuerId, playKeyId } = JSON.parse(ids.value) as { ascKeyId: string; ascIssuerId: string; playKeyId: string };
  const ascKeyPath = path.join(dir, `AuthKey_${ascKeyId}.p8`);
  const ascKey = readOrCreate(ascKeyPath, pem('ec')).value;
  const playKey = readOrCreate(path.join(dir, 'play-service-account-key.pem'), pem('rsa')).value;
  const clientEmail = 'durable-jobs-dev@emulated-project.iam.gserviceaccount.com';
  return {
    asc: { keyId: ascKeyId, issuerId: ascIssuerId, publicKeyPem: publicPem(ascKey), privateKeyPath: ascKeyPath },
    play: { clientEmail, privateKeyId: playKeyId, privateKeyPem: `${playKey}\n`, publicKeyPem: publicPem(playKey) },
    writeServiceAccount(tokenUrl) {
      const file = path.join(dir, 'play-service-account.json');
      const account = {
        type: 'service_account',
        project_id: 'emulated-project',
        private_key_id: playKeyId,
        private_key: `${playKey}\n`,
        client_email: clientEmail,
        client_id: '100000000000000000000',
        token_uri: tokenUrl,
      };
      fs.writeFileSync(file, `${JSON.stringify(account, null, 2)}\n`, { mode: 0o600 });
      return file;
    },
  };
}
