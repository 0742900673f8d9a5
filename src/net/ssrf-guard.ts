import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

// Outbound requests (page fetches, webhooks, provider calls) must not reach the machine
// itself, private networks, cloud metadata endpoints or privileged service ports unless a
// host is explicitly allowed (OUTBOUND_ALLOW_HOSTS). Addresses are checked after DNS
// resolution (the HTTP client's connect-time lookup), so a public name that resolves to
// 127.0.0.1 is refused too, and URLs are checked again on every redirect hop.

/**
 * Only globally routable unicast addresses may be contacted: every other range ipaddr.js
 * names (loopback, private, linkLocal incl. 169.254.169.254, uniqueLocal incl. fd00:ec2::254,
 * carrierGradeNat, multicast, reserved, deprecatedSiteLocal fec0::/10, 6to4 2002::/16,
 * teredo 2001::/32, rfc6052 NAT64, …) is refused.
 */
const ALLOWED_RANGE = 'unicast';

/** Ranges ipaddr.js reports as unicast that still lead somewhere we must not go. */
const EXTRA_BLOCKED: { name: string; cidr: [ipaddr.IPv6, number] }[] = [
  // IPv4-compatible IPv6 (::127.0.0.1 is ::7f00:1 once a URL parser has normalised it).
  { name: 'ipv4Compatible', cidr: ipaddr.IPv6.parseCIDR('::/96') },
];

/**
 * Ports any host may be contacted on: HTTP, HTTPS and unprivileged ports. Privileged ports
 * (SSH 22, SMTP 25, …) host non-HTTP services an attacker could talk to through us; hosts in
 * OUTBOUND_ALLOW_HOSTS may use any port.
 */
export function isAllowedPort(port: number): boolean {
  return port === 80 || port === 443 || (port >= 1024 && port <= 65535);
}

/** Why an address may not be contacted, or undefined when it may. */
export function blockedReason(address: string): string | undefined {
  const text = address.replace(/^\[|\]$/g, '');
  if (!net.isIP(text)) return `"${address}" is not an IP address`;
  let ip = ipaddr.parse(text);
  if (ip instanceof ipaddr.IPv6) {
    const extra = EXTRA_BLOCKED.find((r) => (ip as ipaddr.IPv6).match(r.cidr));
    if (extra) return describe(text, extra.name);
    // IPv4-mapped IPv6 (::ffff:127.0.0.1) is checked as the IPv4 it carries.
    if (ip.isIPv4MappedAddress()) ip = ip.toIPv4Address();
  }
  const range = ip.range();
  return range === ALLOWED_RANGE ? undefined : describe(ip.toString(), range);
}

function describe(ip: string, range: string): string {
  return `${ip} is a loopback, private, link-local or otherwise non-public address (${range})`;
}

export class BlockedTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlockedTargetError';
  }
}

export interface OutboundPolicy {
  /** Hosts or IPs that may be reached even if they resolve to non-public addresses, on any port (lower case). */
  allowHosts: string[];
}

export function isAllowedHost(host: string, policy: OutboundPolicy): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return policy.allowHosts.includes(h);
}

/**
 * Checks a URL's scheme, port and host before any connection. For an IP-literal host the
 * address itself is checked; names are checked at connect time by `guardedLookup`.
 */
export function checkUrl(raw: string, policy: OutboundPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BlockedTargetError(`"${raw}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new BlockedTargetError(`only http and https URLs are allowed, not ${url.protocol}`);
  if (url.username || url.password) throw new BlockedTargetError('URLs with credentials are not allowed');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isAllowedHost(host, policy)) return url;
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  if (!isAllowedPort(port)) {
    throw new BlockedTargetError(
      `refused target ${url.host}: port ${port} is not allowed (only 80, 443 and 1024-65535, unless the host is in OUTBOUND_ALLOW_HOSTS)`,
    );
  }
  if (net.isIP(host)) {
    const reason = blockedReason(host);
    if (reason) throw new BlockedTargetError(`refused target ${url.host}: ${reason}`);
  } else if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal')) {
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
 * A `lookup` for net.connect/tls.connect that refuses non-public addresses, so the check
 * happens on the address actually connected to (no DNS-rebinding window).
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
