import { describe, expect, it } from 'vitest';
import { addressRange, assertSafeUrl, UnsafeUrlError } from '../src/delivery/ssrf.js';

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
    await expect(assertSafeUrl(url, { allowPrivate: false, resolve })).rejects.toBeInstanceOf(UnsafeUrlError);
  });

  it('accepts a public address and allows private ones when configured', async () => {
    await expect(assertSafeUrl('https://hooks.example.com/in', { allowPrivate: false, resolve })).resolves.toBeInstanceOf(URL);
    await expect(assertSafeUrl('http://127.0.0.1:9/x', { allowPrivate: true, resolve })).resolves.toBeInstanceOf(URL);
  });

  it.each(['ftp://example.com/x', 'not a url', 'https://user:pw@hooks.example.com/'])('refuses %s in any mode', async (url) => {
    await expect(assertSafeUrl(url, { allowPrivate: true, resolve })).rejects.toBeInstanceOf(UnsafeUrlError);
  });

  it('classifies IPv4-mapped IPv6 by the IPv4 address', () => {
    expect(addressRange('::ffff:10.0.0.1')).toBe('private');
    expect(addressRange('8.8.8.8')).toBe('unicast');
  });
});
