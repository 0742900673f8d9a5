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
  ])('refuses %s', (url) => {
    expect(() => checkUrl(url, none)).toThrow(/refused target/);
  });

  test.each(['ftp://example.com/', 'file:///etc/passwd', 'gopher://x/', 'http://user:pw@example.com/', 'not a url'])('refuses the scheme or form of %s', (url) => {
    expect(() => checkUrl(url, none)).toThrow();
  });

  test.each(['https://example.com/a?b=c', 'http://8.8.8.8/', 'http://[2606:4700::1111]/'])('lets %s through', (url) => {
    expect(checkUrl(url, none).href).toBeTruthy();
  });

  test('OUTBOUND_ALLOW_HOSTS exempts exactly the listed hosts', () => {
    expect(checkUrl('http://127.0.0.1:8080/', { allowHosts: ['127.0.0.1'] }).port).toBe('8080');
    expect(() => checkUrl('http://127.0.0.2/', { allowHosts: ['127.0.0.1'] })).toThrow(/refused/);
  });

  test('names are checked after DNS resolution', async () => {
    await expect(resolvePublic('localhost', none)).rejects.toThrow(/refused target localhost/);
    await expect(resolvePublic('localhost', { allowHosts: ['localhost'] })).resolves.toEqual(expect.arrayContaining([expect.objectContaining({ address: expect.any(String) })]));
  });

  test('blockedReason covers mapped and public addresses', () => {
    expect(blockedReason('::ffff:10.1.1.1')).toBeDefined();
    expect(blockedReason('1.1.1.1')).toBeUndefined();
    expect(blockedReason('not-an-ip')).toMatch(/not an IP/);
  });
});
