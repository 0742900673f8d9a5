import { Webhook } from 'standardwebhooks';

// Standard Webhooks signatures (https://www.standardwebhooks.com), made by the reference
// `standardwebhooks` package, so receivers verifying with it (or any port of it) agree.

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Headers for one attempt. With several secrets (rotation, newest first) the body is signed
 * with each, space-separated, so a receiver holding any one of them can verify.
 */
export function signWebhook(secrets: readonly string[], msg: { id: string; timestampSeconds: number; body: string }): SignedHeaders {
  if (secrets.length === 0) throw new Error('no webhook signing secret configured');
  const at = new Date(msg.timestampSeconds * 1000);
  return {
    'webhook-id': msg.id,
    'webhook-timestamp': String(msg.timestampSeconds),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(msg.id, at, msg.body)).join(' '),
  };
}
