import dns from 'node:dns';
import net from 'node:net';
import { BlockList } from 'node:net';

// Outbound requests (page fetches, webhooks, provider downloads) must not reach the
// machine itself, private networks or cloud metadata endpoints unless a host is
// explicitly allowed (OUTBOUND_ALLOW_HOSTS). Checked after DNS resolution, so a public
// name that resolves to 127.0.0.1 is refused too, and again on every redirect hop.

const blocked = new BlockList();
for (const [net4, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, incl. 169.254.169.254 metadata
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, incl. broadcast
] as const) {
  blocked.addSubnet(net4, prefix, 'ipv4');
}
for (const [net6, prefix] of [
  ['::', 96], // unspecified and IPv4-compatible (::127.0.0.1)
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['64:ff9b::', 96], // NAT64 (embeds IPv4)
  ['64:ff9b:1::', 48], // local-use NAT64
  ['::ffff:0:0:0', 96], // SIIT (embeds IPv4)
  ['100::', 64], // discard-only
  ['2001:db8::', 32], // documentation
  ['fd00:ec2::254', 128], // AWS IPv6 metadata
] as const) {
  blocked.addSubnet(net6, prefix, 'ipv6');
}

/** Why an address may not be contacted, or undefined when it may. */
export function blockedReason(address: string): string | undefined {
  let ip = address.replace(/^\[|\]$/g, '');
  const family = net.isIP(ip);
  if (!family) return `"${address}" is not an IP address`;
  // IPv4-mapped IPv6 (::ffff:127.0.0.1) is checked as the IPv4 it carries.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) ip = mapped[1];
  const type = net.isIP(ip) === 4 ? 'ipv4' : 'ipv6';
  if (blocked.check(ip, type)) return `${ip} is a loopback, private, link-local or otherwise non-public address`;
  return undefined;
}

export class BlockedTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlockedTargetError';
  }
}

export interface OutboundPolicy {
  /** Hosts or IPs that may be reached even if they resolve to non-public addresses (lower case). */
  allowHosts: string[];
}

export function isAllowedHost(host: string, policy: OutboundPolicy): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return policy.allowHosts.includes(h);
}

/**
 * Checks a URL's scheme and host before any connection. For an IP-literal host the
 * address itself is checked; names are checked at connect time by `guardedLookup`.
 */
export function checkUrl(raw: string, policy: OutboundPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BlockedTargetError(`"${raw}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BlockedTargetError(`only http and https URLs are allowed, not ${url.protocol}`);
  if (url.username || url.password) throw new BlockedTargetError('URLs with credentials are not allowed');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isAllowedHost(host, policy)) return url;
  if (net.isIP(host)) {
    const reason = blockedReason(host);
    if (reason) throw new BlockedTargetError(`refused target ${url.host}: ${reason}`);
  } else if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal') || host === 'metadata.google.internal') {
    throw new BlockedTargetError(`refused target ${url.host}: local or internal host name`);
  }
  return url;
}

/** Resolves a host name and refuses it if any address it resolves to is non-public. */
export async function resolvePublic(host: string, policy: OutboundPolicy): Promise<dns.LookupAddress[]> {
  const addresses = await dns.promises.lookup(host, { all: true, verbatim: true });
  if (isAllowedHost(host, policy)) return addresses;
  for (const a of addresses) {
    const reason = blockedReason(a.address);
    if (reason) throw new BlockedTargetError(`refused target ${host}: resolves to ${reason}`);
  }
  return addresses;
}

/**
 * A `lookup` for http.request/net.connect that refuses non-public addresses, so the
 * check happens on the address actually connected to (no DNS-rebinding window).
 */
export function guardedLookup(policy: OutboundPolicy): net.LookupFunction {
  return (hostname, options, callback) => {
    const cb = callback as (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;
    resolvePublic(hostname, policy).then(
      (addresses) => {
        if ((options as dns.LookupOptions).all) cb(null, addresses);
        else cb(null, addresses[0].address, addresses[0].family);
      },
      (err) => cb(err as NodeJS.ErrnoException, ''),
    );
  };
}
