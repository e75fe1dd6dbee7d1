/**
 * Which network addresses the proxy may ever connect to. Nothing a client or an
 * upstream says (a redirect, a realm, a DNS answer) can make it connect to a link-local
 * or cloud-metadata address; private and loopback ranges are refused too unless the
 * operator allows them (an internal registry, or a test bed on loopback).
 */
import { BlockList, isIP } from 'node:net';
import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { RegistryError } from '../errors.js';

const ALWAYS = new BlockList();
ALWAYS.addSubnet('0.0.0.0', 8, 'ipv4');
ALWAYS.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, incl. 169.254.169.254 (AWS/GCP/Azure metadata)
ALWAYS.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
ALWAYS.addSubnet('224.0.0.0', 4, 'ipv4');
ALWAYS.addSubnet('240.0.0.0', 4, 'ipv4');
ALWAYS.addSubnet('fe80::', 10, 'ipv6');
ALWAYS.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6
ALWAYS.addSubnet('ff00::', 8, 'ipv6');
ALWAYS.addAddress('::', 'ipv6');

const PRIVATE = new BlockList();
PRIVATE.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE.addSubnet('127.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('100.64.0.0', 10, 'ipv4');
PRIVATE.addAddress('::1', 'ipv6');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');

export interface AddressPolicy {
  /** Loopback and private ranges (an internal registry, a test bed). Default false. */
  allowPrivate: boolean;
}

/** `forbidden`: never connected to; `private`: only with upstream.allowPrivateNetworks. */
export type AddressKind = 'public' | 'private' | 'forbidden';

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address it carries. */
function normalise(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1]!, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

export function addressKind(raw: string): AddressKind {
  const { address, family } = normalise(raw.replace(/^\[|\]$/g, ''));
  if (ALWAYS.check(address, family)) return 'forbidden';
  return PRIVATE.check(address, family) ? 'private' : 'public';
}

export function isBlockedAddress(raw: string, policy: AddressPolicy): boolean {
  const kind = addressKind(raw);
  return kind === 'forbidden' || (kind === 'private' && !policy.allowPrivate);
}

/** Names that always mean this machine (RFC 6761), known without asking DNS. */
function isLocalName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/**
 * What a URL's host is known to be without DNS: an IP literal by its range, "localhost"
 * as loopback. Other names count as public here; their addresses are judged at connect time.
 */
export function urlHostKind(url: URL): AddressKind {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return addressKind(host);
  return isLocalName(host) ? 'private' : 'public';
}

/** A URL whose host is an IP literal in a blocked range (hostnames are checked at lookup). */
export function isBlockedUrl(url: URL, policy: AddressPolicy): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return isIP(host) !== 0 && isBlockedAddress(host, policy);
}

/** Raised by guardedLookup; node-fetch keeps only its code, EADDRBLOCKED. */
export class BlockedAddressError extends Error {
  readonly code = 'EADDRBLOCKED';
  constructor(hostname: string) {
    super(`refusing to connect to ${hostname}: address not allowed`);
  }
}

const WHY: Record<'private' | 'forbidden' | 'resolved', (policy: AddressPolicy) => string> = {
  private: () => 'a loopback or private network address; set upstream.allowPrivateNetworks: true to use a registry there',
  forbidden: () => 'a link-local or cloud metadata address, refused even with upstream.allowPrivateNetworks',
  resolved: (policy) =>
    policy.allowPrivate
      ? 'it resolves to a link-local or cloud metadata address, refused even with upstream.allowPrivateNetworks'
      : 'it resolves to a loopback, private, link-local or metadata address; loopback and private ones need upstream.allowPrivateNetworks: true',
};

/**
 * The address policy refused a connection. This is configuration, not upstream trouble:
 * it is not an UpstreamUnavailableError, so the retry layer fails at once instead of
 * backing off, and the message tells the operator which host and which setting.
 */
export class AddressRefusedError extends RegistryError {
  constructor(host: string, why: keyof typeof WHY, policy: AddressPolicy) {
    super('UNAVAILABLE', `refusing to connect to ${host}: address not allowed (${WHY[why](policy)})`, { status: 502 });
    this.name = 'AddressRefusedError';
  }

  /** For a URL whose host is an IP literal the policy refuses (see isBlockedUrl). */
  static forLiteral(url: URL, policy: AddressPolicy): AddressRefusedError {
    return new AddressRefusedError(url.host, urlHostKind(url) === 'forbidden' ? 'forbidden' : 'private', policy);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for http(s) agents that refuses hostnames resolving to blocked addresses. */
export function guardedLookup(policy: AddressPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const list = addresses as LookupAddress[];
      if (list.length === 0 || list.some((a) => isBlockedAddress(a.address, policy)))
        return callback(new BlockedAddressError(hostname), '');
      if (options.all) return callback(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
}
