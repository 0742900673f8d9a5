import { MockActivityEnvironment } from '@temporalio/testing';
import { Webhook } from 'standardwebhooks';
import { createWebhookDeliveryActivities } from '../src/activities/webhook-delivery/deliver';
import { parseRetryAfter } from '../src/net/retry-after';
import { signWebhook } from '../src/activities/webhook-delivery/sign';
import type { WebhookAttemptInput, WebhookAttemptOutcome, WebhookDeliveryPolicy } from '../src/workflows/webhook-delivery/contract';
import { startWebhookReceiver, verifies, verifyWebhook, WebhookReceiver } from './fixtures/webhook-receiver';
import { freePort } from './harness/ports';
import { TEST_WEBHOOK_SECRET, testConfig, testDeps } from './harness/temporal';

// The attempt activity on its own, against real local receivers (no Temporal involved).

const NEW_SECRET = 'whsec_bmV3LXNlY3JldC1uZXctc2VjcmV0LW5ldy1zZWNyZXQ=';
const OLD_SECRET = 'whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0LW9sZC1zZWNyZXQ=';
const OTHER_SECRET = 'whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC1vdGhlcg==';

function attemptInput(url: string, body = '{"type":"job.finished","data":{"n":1}}'): WebhookAttemptInput {
  return { deliveryId: 'msg_unit_1', url, body, attempt: 1 };
}

describe('webhook signing', () => {
  test('matches the standardwebhooks reference signature', () => {
    const body = '{"hello":"wörld"}';
    const ts = 1_700_000_000;
    const ours = signWebhook([TEST_WEBHOOK_SECRET], { id: 'msg_1', timestampSeconds: ts, body });
    expect(ours['webhook-signature']).toBe(new Webhook(TEST_WEBHOOK_SECRET).sign('msg_1', new Date(ts * 1000), body));
    expect(ours['webhook-id']).toBe('msg_1');
    expect(ours['webhook-timestamp']).toBe(String(ts));
  });

  test('signs with every secret during a rotation, newest first', () => {
    const headers = signWebhook([NEW_SECRET, OLD_SECRET], { id: 'msg_2', timestampSeconds: 1_700_000_000, body: '{}' });
    const parts = headers['webhook-signature'].split(' ');
    expect(parts).toHaveLength(2);
    expect(parts[0]).toBe(new Webhook(NEW_SECRET).sign('msg_2', new Date(1_700_000_000_000), '{}'));
    expect(parts[1]).toBe(new Webhook(OLD_SECRET).sign('msg_2', new Date(1_700_000_000_000), '{}'));
  });

  test('Retry-After as seconds or an HTTP date', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Mon, 31 Dec 2029 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('deliverWebhookAttempt against a real receiver', () => {
  let receiver: WebhookReceiver;
  let status = 204;
  let extraHeaders: Record<string, string> = {};
  beforeAll(async () => {
    receiver = await startWebhookReceiver({
      respond: (hook) => (hook.path === '/hang' ? 'hang' : { status, headers: extraHeaders }),
    });
  });
  afterAll(async () => {
    await receiver.close();
  });
  beforeEach(() => {
    status = 204;
    extraHeaders = {};
    receiver.received.length = 0;
  });

  // Each call runs inside a mock activity context, as the worker would run it.
  const activities = (overrides: Record<string, string | undefined> = {}) => {
    const real = createWebhookDeliveryActivities(testDeps(testConfig(overrides)));
    return {
      deliverWebhookAttempt: (input: WebhookAttemptInput): Promise<WebhookAttemptOutcome> =>
        new MockActivityEnvironment().run(real.deliverWebhookAttempt, input),
      webhookDeliveryPolicy: (): Promise<WebhookDeliveryPolicy> => new MockActivityEnvironment().run(real.webhookDeliveryPolicy),
    };
  };

  test('POSTs the exact signed bytes as JSON; verifies with the old secret alone during a rotation', async () => {
    const body = '{"type":"job.finished","data":{"emoji":"✓","n":1}}';
    const outcome = await activities({ WEBHOOK_SECRET: `${NEW_SECRET} ${OLD_SECRET}` }).deliverWebhookAttempt(
      attemptInput(receiver.url(), body),
    );
    expect(outcome).toMatchObject({ delivered: true, permanent: false, record: { attempt: 1, httpStatus: 204 } });
    const [hook] = receiver.received;
    expect(hook.body).toBe(body);
    expect(hook.headers['content-type']).toBe('application/json');
    expect(hook.headers['user-agent']).toMatch(/durable-jobs/);
    expect(hook.headers['webhook-id']).toBe('msg_unit_1');
    expect(verifyWebhook(OLD_SECRET, hook)).toEqual(JSON.parse(body));
    expect(verifies(NEW_SECRET, hook)).toBe(true);
    expect(verifies(OTHER_SECRET, hook)).toBe(false);
    expect(verifies(OLD_SECRET, hook, body.replace('"n":1', '"n":2'))).toBe(false);
  });

  test.each([400, 401, 403, 404, 410, 413, 422])('%i is a permanent failure', async (code) => {
    status = code;
    const outcome = await activities().deliverWebhookAttempt(attemptInput(receiver.url()));
    expect(outcome).toMatchObject({ delivered: false, permanent: true, record: { httpStatus: code } });
  });

  test.each([408, 409, 425, 429, 500, 502, 503, 301, 302, 307])('%i is worth retrying', async (code) => {
    status = code;
    if (code >= 300 && code < 400) extraHeaders = { location: receiver.url('/elsewhere') };
    const outcome = await activities().deliverWebhookAttempt(attemptInput(receiver.url()));
    expect(outcome).toMatchObject({ delivered: false, permanent: false, record: { httpStatus: code } });
    // Redirects are not followed.
    expect(receiver.received.map((h) => h.path)).toEqual(['/hook']);
  });

  test('Retry-After comes back in ms', async () => {
    status = 503;
    extraHeaders = { 'retry-after': '7' };
    const outcome = await activities().deliverWebhookAttempt(attemptInput(receiver.url()));
    expect(outcome.retryAfterMs).toBe(7000);
  });

  test('a receiver that never answers times out after WEBHOOK_TIMEOUT and may be retried', async () => {
    const outcome = await activities({ WEBHOOK_TIMEOUT: '1s' }).deliverWebhookAttempt(attemptInput(receiver.url('/hang')));
    expect(outcome).toMatchObject({ delivered: false, permanent: false, record: { error: 'no complete response within 1000 ms' } });
  });

  test('a closed port is a network error worth retrying', async () => {
    const outcome = await activities().deliverWebhookAttempt(attemptInput(`http://127.0.0.1:${await freePort()}/hook`));
    expect(outcome).toMatchObject({ delivered: false, permanent: false, record: { error: expect.stringMatching(/ECONNREFUSED/) } });
  });

  test('private targets are refused (permanent) unless allowed; non-http schemes always', async () => {
    const refused = await activities({ OUTBOUND_ALLOW_HOSTS: '' }).deliverWebhookAttempt(attemptInput(receiver.url()));
    expect(refused).toMatchObject({
      delivered: false,
      permanent: true,
      record: { error: expect.stringMatching(/refused target 127\.0\.0\.1/) },
    });
    const file = await activities().deliverWebhookAttempt(attemptInput('file:///etc/passwd'));
    expect(file).toMatchObject({ delivered: false, permanent: true, record: { error: expect.stringMatching(/only http and https/) } });
    expect(receiver.received).toHaveLength(0);
  });

  test("the policy is the worker's config; a worker without WEBHOOK_SECRET fails loudly instead of sending unsigned", async () => {
    const policy = await activities({
      WEBHOOK_RETRY_SCHEDULE: '0s,5s,5m',
      WEBHOOK_TIMEOUT: '15s',
      ALERT_WEBHOOK_URL: 'https://alerts.example.com/hook',
    }).webhookDeliveryPolicy();
    expect(policy).toEqual({ retryScheduleMs: [0, 5000, 300_000], attemptTimeoutMs: 15_000, alertUrl: 'https://alerts.example.com/hook' });
    const unsigned = activities({ WEBHOOK_SECRET: undefined });
    await expect(unsigned.webhookDeliveryPolicy()).rejects.toMatchObject({ type: 'WebhookSecretMissing' });
    await expect(unsigned.deliverWebhookAttempt(attemptInput(receiver.url()))).rejects.toMatchObject({ type: 'WebhookSecretMissing' });
    expect(receiver.received).toHaveLength(0);
  });

  test('the default schedule is the Standard Webhooks one: immediately, 5s, 5m, 30m, 2h, 5h, 10h, 14h, 20h, 24h', async () => {
    const { retryScheduleMs } = await activities({ WEBHOOK_RETRY_SCHEDULE: undefined }).webhookDeliveryPolicy();
    const s = 1000;
    const h = 3600 * s;
    expect(retryScheduleMs).toEqual([0, 5 * s, 300 * s, 1800 * s, 2 * h, 5 * h, 10 * h, 14 * h, 20 * h, 24 * h]);
  });
});
