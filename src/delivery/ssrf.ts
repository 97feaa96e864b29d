import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

/** Why a subscriber URL was refused; `message` is safe to show to the admin. */
export class UnsafeUrlError extends Error {
  override name = 'UnsafeUrlError';
}

/** A resolver: hostname → addresses. Replaceable so tests never leave loopback. */
export type Resolve = (hostname: string) => Promise<string[]>;

export const systemResolve: Resolve = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/**
 * ipaddr.js range of an address, looking through IPv4-mapped IPv6 (`::ffff:127.0.0.1` is loopback).
 * Only `unicast` is a public address; every other range (loopback, private, linkLocal, carrierGradeNat,
 * uniqueLocal, multicast, reserved, unspecified, …) is refused.
 */
export function addressRange(address: string): string {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range();
}

/**
 * Checks a subscriber URL before it is stored: http(s) only, no credentials, and every address the
 * host resolves to must be public unless `allowPrivate` (`BRIDGE_ALLOW_PRIVATE_URLS`).
 * @throws UnsafeUrlError naming the problem.
 */
export async function assertSafeUrl(raw: string, options: { allowPrivate: boolean; resolve?: Resolve }): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeUrlError('url must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UnsafeUrlError('url must use http or https');
  if (url.username || url.password) throw new UnsafeUrlError('url must not contain credentials');
  if (options.allowPrivate) return url;

  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (ipaddr.isValid(host)) addresses = [host];
  else {
    try {
      addresses = await (options.resolve ?? systemResolve)(host);
    } catch {
      throw new UnsafeUrlError(`url host ${host} does not resolve`);
    }
  }
  for (const address of addresses) {
    const range = addressRange(address);
    if (range !== 'unicast') {
      throw new UnsafeUrlError(
        `url resolves to ${address} (${range}); private and loopback addresses are refused unless BRIDGE_ALLOW_PRIVATE_URLS=true`,
      );
    }
  }
  return url;
}
