import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../src/config/env';
import { blockedReason, checkUrl, resolvePublic } from '../src/net/ssrf-guard';

const none = { allowHosts: [] };

describe('SSRF guard', () => {
  test.each([
    'http://127.0.0.1/',
    'http://127.1/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0.0.0.0/',
    'http://10.0.0.1/',
    'http://172.16.5.4/',
    'http://192.168.1.1/',
    'http://100.64.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://224.0.0.1/',
    'http://[::1]/',
    'http://[::]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::127.0.0.1]/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://[fd00:ec2::254]/',
    'http://localhost:3000/',
    'http://foo.localhost/',
    'http://metadata.google.internal/',
    'http://[fec0::1]/', // deprecated site-local
    'http://[2002:7f00:1::1]/', // 6to4 (carries 127.0.0.1)
    'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', // Teredo
    'http://[64:ff9b::a00:1]/', // NAT64 (carries 10.0.0.1)
    'http://198.18.0.1/', // benchmarking
    'http://240.0.0.1/', // reserved
  ])('refuses %s', (url) => {
    expect(() => checkUrl(url, none)).toThrow(/refused target/);
  });

  test.each(['ftp://example.com/', 'file:///etc/passwd', 'gopher://x/', 'http://user:pw@example.com/', 'not a url'])(
    'refuses the scheme or form of %s',
    (url) => {
      expect(() => checkUrl(url, none)).toThrow();
    },
  );

  test.each(['https://example.com/a?b=c', 'http://8.8.8.8/', 'http://[2606:4700::1111]/'])('lets %s through', (url) => {
    expect(checkUrl(url, none).href).toBeTruthy();
  });

  test.each([
    'http://example.com:22/',
    'https://example.com:25/',
    'http://8.8.8.8:111/',
    'http://example.com:1023/',
    'https://example.com:0/',
  ])('refuses the privileged port of %s', (url) => {
    expect(() => checkUrl(url, none)).toThrow(/port \d+ is not allowed/);
  });

  test.each([
    'http://example.com/',
    'https://example.com:443/',
    'http://example.com:80/',
    'https://example.com:1024/',
    'http://example.com:8080/',
    'https://example.com:65535/',
  ])('allows the port of %s', (url) => {
    expect(checkUrl(url, none).hostname).toBe('example.com');
  });

  test('a host in OUTBOUND_ALLOW_HOSTS may use any port', () => {
    expect(checkUrl('http://mail.internal.example:25/', { allowHosts: ['mail.internal.example'] }).port).toBe('25');
    expect(() => checkUrl('http://other.example:25/', { allowHosts: ['mail.internal.example'] })).toThrow(/port 25/);
  });

  test('OUTBOUND_ALLOW_HOSTS exempts exactly the listed hosts', () => {
    expect(checkUrl('http://127.0.0.1:8080/', { allowHosts: ['127.0.0.1'] }).port).toBe('8080');
    expect(() => checkUrl('http://127.0.0.2/', { allowHosts: ['127.0.0.1'] })).toThrow(/refused/);
  });

  test('names are checked after DNS resolution', async () => {
    await expect(resolvePublic('localhost', none)).rejects.toThrow(/refused target localhost/);
    await expect(resolvePublic('localhost', { allowHosts: ['localhost'] })).resolves.toEqual(
      expect.arrayContaining([expect.objectContaining({ address: expect.any(String) })]),
    );
  });

  test('blockedReason covers mapped and public addresses', () => {
    expect(blockedReason('::ffff:10.1.1.1')).toBeDefined();
    expect(blockedReason('1.1.1.1')).toBeUndefined();
    expect(blockedReason('not-an-ip')).toMatch(/not an IP/);
    expect(blockedReason('2606:4700::1111')).toBeUndefined();
    expect(blockedReason('fec0::1')).toMatch(/deprecatedSiteLocal/);
    expect(blockedReason('2002:c000:204::1')).toMatch(/6to4/);
    expect(blockedReason('2001::1')).toMatch(/teredo/);
    expect(blockedReason('::7f00:1')).toMatch(/ipv4Compatible/);
  });
});

describe('WEBHOOK_SECRET', () => {
  const load = (WEBHOOK_SECRET: string) => loadConfig({ WEBHOOK_SECRET });
  const key = (bytes: number) => `whsec_${randomBytes(bytes).toString('base64')}`;

  test.each([
    ['whsec_=', /must look like whsec_<base64>/],
    ['whsec_', /must look like whsec_<base64>/],
    ['not-a-secret', /must look like whsec_<base64>/],
    ['whsec_abc', /not valid base64|not usable/],
    ['whsec_c2hvcnQ=', /decodes to 5 bytes; use at least 24/],
    [key(16), /decodes to 16 bytes/],
  ])('refuses %s', (secret, message) => {
    expect(() => load(secret)).toThrow(ConfigError);
    expect(() => load(secret)).toThrow(message);
  });

  test('names which secret of a rotation list is wrong', () => {
    expect(() => load(`${key(32)} whsec_=`)).toThrow(/WEBHOOK_SECRET: secret 2 of 2 must look like/);
  });

  test('accepts 24 to 64 random bytes, several for a rotation', () => {
    const list = `${key(32)} ${key(24)} ${key(64)}`;
    expect(load(list).WEBHOOK_SECRET).toEqual(list.split(' '));
  });
});
