import { lookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Why a subscriber URL was refused; `message` is safe to show to the admin. */
export class UnsafeUrlError extends Error {
  override name = 'UnsafeUrlError';
  readonly code = 'UNSAFE_ADDRESS';
}

/**
 * A subscriber URL's host name has no address (DNS answered NXDOMAIN or nothing usable): a typo or a
 * host this machine's DNS cannot see, not an unsafe address. `message` is safe to show to the admin.
 */
export class UnresolvableHostError extends Error {
  override name = 'UnresolvableHostError';
  readonly code = 'UNRESOLVABLE_HOST';
  constructor(
    readonly host: string,
    options?: { cause?: unknown },
  ) {
    super(`url host ${host} could not be resolved (DNS): check the spelling, and that this machine's DNS can see it`, options);
  }
}

/** A resolver: hostname → addresses. Replaceable so tests never leave loopback. */
export type Resolve = (hostname: string) => Promise<string[]>;

export const systemResolve: Resolve = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/**
 * ipaddr.js range of an address, looking through IPv4-mapped IPv6 (`::ffff:127.0.0.1` is loopback).
 * Only `unicast` is a public address; every other range (loopback, private, linkLocal — which holds
 * 169.254.169.254 —, carrierGradeNat, uniqueLocal, multicast, reserved, unspecified, …) is refused.
 */
export function addressRange(address: string): string {
  return normalise(ipaddr.parse(address)).range();
}

/** ipaddr.js range names in words, for messages an admin reads (`carrierGradeNat` means nothing to most). */
const RANGE_WORDS: Readonly<Record<string, string>> = {
  loopback: 'loopback',
  private: 'private (RFC 1918)',
  linkLocal: 'link-local (this includes the cloud metadata address 169.254.169.254)',
  carrierGradeNat: 'carrier-grade NAT (100.64.0.0/10)',
  uniqueLocal: 'unique local IPv6 (fc00::/7)',
  multicast: 'multicast',
  unspecified: 'unspecified (0.0.0.0 or ::)',
  broadcast: 'broadcast',
  reserved: 'reserved',
};

/** An address's range in words, e.g. `a loopback address`. */
function rangeInWords(address: string): string {
  const range = addressRange(address);
  const words = RANGE_WORDS[range] ?? `${range.replace(/([A-Z])/g, ' $1').toLowerCase()}`;
  return `${/^[aeiou]/.test(words) ? 'an' : 'a'} ${words} address`;
}

function normalise(addr: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() ? (addr as ipaddr.IPv6).toIPv4Address() : addr;
}

export interface UrlPolicyOptions {
  /** `BRIDGE_ALLOW_PRIVATE_URLS`: any address is allowed. */
  allowPrivate: boolean;
  /** `BRIDGE_ALLOWED_CIDRS`: ranges allowed although not public, e.g. `10.20.0.0/16`. */
  allowedCidrs?: readonly string[];
  /** `BRIDGE_HTTPS_ONLY`: refuse plain `http:` URLs. */
  httpsOnly?: boolean;
  resolve?: Resolve;
}

/**
 * The SSRF guard (issue "Delivery that receivers can trust", SSRF guard). `check` runs when a
 * subscription URL is created or changed; `lookup` is installed as the delivery connection's DNS
 * lookup, so every send checks the resolved address and connects to exactly that address (no second
 * lookup that DNS rebinding could change).
 */
export class UrlPolicy {
  private readonly cidrs: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
  private readonly resolve: Resolve;

  constructor(private readonly options: UrlPolicyOptions) {
    this.cidrs = (options.allowedCidrs ?? []).map((c) => {
      const [addr, bits] = ipaddr.parseCIDR(c);
      return [normalise(addr), addr.kind() === 'ipv6' && normalise(addr).kind() === 'ipv4' ? bits - 96 : bits];
    });
    this.resolve = options.resolve ?? systemResolve;
  }

  /** Whether a resolved address may be connected to. */
  allows(address: string): boolean {
    if (this.options.allowPrivate) return true;
    const addr = normalise(ipaddr.parse(address));
    if (addr.range() === 'unicast') return true;
    return this.cidrs.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits));
  }

  /**
   * @throws UnsafeUrlError when the scheme, credentials or any resolved address is not allowed;
   *   UnresolvableHostError when the host name does not resolve.
   */
  async check(raw: string): Promise<URL> {
    const url = this.checkForm(raw);
    if (this.options.allowPrivate) return url;
    await this.addressesOf(url.hostname.replace(/^\[|\]$/g, ''));
    return url;
  }

  /**
   * The checks that need no DNS: scheme (and `httpsOnly`), no credentials, and an IP-literal host
   * must be allowed. Runs before every send; host names are checked by `lookup` while connecting.
   * @throws UnsafeUrlError
   */
  checkForm(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new UnsafeUrlError('url must be an absolute http(s) URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UnsafeUrlError('url must use http or https');
    if (this.options.httpsOnly && url.protocol !== 'https:') throw new UnsafeUrlError('url must use https (BRIDGE_HTTPS_ONLY=true)');
    if (url.username || url.password) throw new UnsafeUrlError('url must not contain credentials');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !this.allows(host)) {
      throw new UnsafeUrlError(
        `url host ${host} is ${rangeInWords(host)}; refused unless BRIDGE_ALLOWED_CIDRS includes it (or BRIDGE_ALLOW_PRIVATE_URLS=true)`,
      );
    }
    return url;
  }

  /** Resolves a host and checks every address. @throws UnresolvableHostError, UnsafeUrlError */
  async addressesOf(host: string): Promise<string[]> {
    let addresses: string[];
    if (isIP(host)) addresses = [host];
    else {
      try {
        addresses = await this.resolve(host);
      } catch (err) {
        throw new UnresolvableHostError(host, { cause: err });
      }
      if (addresses.length === 0) throw new UnresolvableHostError(host);
    }
    for (const address of addresses) {
      if (!this.allows(address)) {
        throw new UnsafeUrlError(
          `url resolves to ${address}, ${rangeInWords(address)}; only public addresses are allowed unless ` +
            'BRIDGE_ALLOWED_CIDRS includes it (or BRIDGE_ALLOW_PRIVATE_URLS=true)',
        );
      }
    }
    return addresses;
  }

  /** `net.connect` lookup: resolve, refuse unsafe addresses, hand over exactly the checked ones. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.addressesOf(hostname).then(
      (addresses) => {
        const entries = addresses.map((address) => ({ address, family: isIP(address) }));
        const wanted = (options as { family?: number }).family;
        const usable = wanted ? entries.filter((e) => e.family === wanted) : entries;
        if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof entries) => void)(null, usable);
        const first = usable[0] ?? entries[0]!;
        callback(null, first.address, first.family);
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, '', 0),
    );
  };
}
