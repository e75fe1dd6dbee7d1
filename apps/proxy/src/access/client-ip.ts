/**
 * The client's address. `X-Forwarded-For` is believed only when the connection comes
 * from a configured trusted proxy (the load balancer); then the address is the right-most
 * entry not itself a trusted proxy. Anyone else's X-Forwarded-For is ignored.
 */
import type { CidrList } from './cidr.js';

export function clientIp(remote: string, forwardedFor: string | undefined, trusted: CidrList): string {
  if (!forwardedFor || trusted.size === 0 || !trusted.has(remote)) return remote;
  const chain = forwardedFor
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (let i = chain.length - 1; i >= 0; i--) {
    if (!trusted.has(chain[i]!)) return chain[i]!;
  }
  return chain[0] ?? remote;
}
