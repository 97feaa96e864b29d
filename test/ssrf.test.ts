import { describe, expect, it } from 'vitest';
import { addressRange, UnresolvableHostError, UnsafeUrlError, UrlPolicy } from '../src/delivery/ssrf.js';

// Names resolve through a stub: no test sends a packet anywhere, let alone off loopback.
const resolve = async (host: string) => ({ 'hooks.example.com': ['93.184.216.34'], 'rebind.example.com': ['127.0.0.1'] })[host] ?? [];

describe('subscriber URL check', () => {
  it.each([
    'http://127.0.0.1:8080/hook',
    'http://[::1]/hook',
    'http://10.1.2.3/hook',
    'http://172.16.0.1/hook',
    'http://192.168.1.1/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://100.64.0.1/hook',
    'http://[fd00::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://0.0.0.0/hook',
    'http://224.0.0.1/hook',
    'http://rebind.example.com/hook',
  ])('refuses %s', async (url) => {
    await expect(new UrlPolicy({ allowPrivate: false, resolve }).check(url)).rejects.toBeInstanceOf(UnsafeUrlError);
  });

  it('tells a host name that does not resolve from an unsafe address', async () => {
    const check = new UrlPolicy({ allowPrivate: false, resolve }).check('https://hooks.nowhere.test/in');
    await expect(check).rejects.toBeInstanceOf(UnresolvableHostError);
    await expect(check).rejects.toThrow('url host hooks.nowhere.test could not be resolved (DNS)');
    const failing = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND hooks.nowhere.test'), { code: 'ENOTFOUND' });
    };
    await expect(new UrlPolicy({ allowPrivate: false, resolve: failing }).check('https://hooks.nowhere.test/in')).rejects.toBeInstanceOf(
      UnresolvableHostError,
    );
  });

  it('accepts a public address and allows private ones when configured', async () => {
    await expect(new UrlPolicy({ allowPrivate: false, resolve }).check('https://hooks.example.com/in')).resolves.toBeInstanceOf(URL);
    await expect(new UrlPolicy({ allowPrivate: true, resolve }).check('http://127.0.0.1:9/x')).resolves.toBeInstanceOf(URL);
  });

  it.each(['ftp://example.com/x', 'not a url', 'https://user:pw@hooks.example.com/'])('refuses %s in any mode', async (url) => {
    await expect(new UrlPolicy({ allowPrivate: true, resolve }).check(url)).rejects.toBeInstanceOf(UnsafeUrlError);
  });

  it('opens exactly the ranges in BRIDGE_ALLOWED_CIDRS', async () => {
    const policy = new UrlPolicy({ allowPrivate: false, allowedCidrs: ['10.20.0.0/16', 'fd12::/16'], resolve });
    await expect(policy.check('http://10.20.3.4/hook')).resolves.toBeInstanceOf(URL);
    await expect(policy.check('http://[::ffff:10.20.3.4]/hook')).resolves.toBeInstanceOf(URL);
    await expect(policy.check('http://[fd12::1]/hook')).resolves.toBeInstanceOf(URL);
    await expect(policy.check('http://10.21.0.1/hook')).rejects.toBeInstanceOf(UnsafeUrlError);
    await expect(policy.check('http://127.0.0.1/hook')).rejects.toBeInstanceOf(UnsafeUrlError);
  });

  it('refuses plain http when BRIDGE_HTTPS_ONLY is set', async () => {
    const policy = new UrlPolicy({ allowPrivate: true, httpsOnly: true, resolve });
    await expect(policy.check('http://hooks.example.com/x')).rejects.toThrow(/https/);
    await expect(policy.check('https://hooks.example.com/x')).resolves.toBeInstanceOf(URL);
  });

  it('classifies IPv4-mapped IPv6 by the IPv4 address', () => {
    expect(addressRange('::ffff:10.0.0.1')).toBe('private');
    expect(addressRange('8.8.8.8')).toBe('unicast');
  });

  it('names a refused range in words, not ipaddr.js identifiers', async () => {
    const policy = new UrlPolicy({ allowPrivate: false, resolve });
    await expect(policy.check('http://100.64.0.1/hook')).rejects.toThrow(
      'url host 100.64.0.1 is a carrier-grade NAT (100.64.0.0/10) address',
    );
    await expect(policy.check('http://169.254.169.254/')).rejects.toThrow(/link-local .*metadata/);
    await expect(policy.check('http://rebind.example.com/hook')).rejects.toThrow('url resolves to 127.0.0.1, a loopback address');
  });
});
