import { createHmac } from 'node:crypto';

// Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over
// `${id}.${timestamp}.${body}`, keyed by the base64 part of a `whsec_` secret.

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

const SECRET_PREFIX = 'whsec_';

export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/**
 * Headers for one attempt. With several secrets (rotation, newest first) the body is signed
 * with each, space-separated, so a receiver holding any one of them can verify.
 */
export function signWebhook(secrets: readonly string[], msg: { id: string; timestampSeconds: number; body: string }): SignedHeaders {
  if (secrets.length === 0) throw new Error('no webhook signing secret configured');
  const signedContent = `${msg.id}.${msg.timestampSeconds}.${msg.body}`;
  const signatures = secrets.map((s) => `v1,${createHmac('sha256', secretKey(s)).update(signedContent, 'utf8').digest('base64')}`);
  return {
    'webhook-id': msg.id,
    'webhook-timestamp': String(msg.timestampSeconds),
    'webhook-signature': signatures.join(' '),
  };
}
