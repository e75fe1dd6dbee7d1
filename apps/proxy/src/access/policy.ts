/** Everything the admission step needs, built once from configuration. */
import type { Config } from '../config/schema.js';
import { CidrList } from './cidr.js';
import { ImageRules } from './image-rules.js';
import { RateLimiter, type LimitConfig } from './rate-limiter.js';

export class AccessPolicy {
  readonly allowIps: CidrList;
  readonly denyIps: CidrList;
  readonly trustedProxies: CidrList;
  readonly rules: ImageRules;
  readonly limiter = new RateLimiter();

  constructor(private readonly config: Config['access']) {
    this.allowIps = new CidrList(config.allowIps);
    this.denyIps = new CidrList(config.denyIps);
    this.trustedProxies = new CidrList(config.trustedProxies);
    this.rules = new ImageRules(config.rules);
  }

  ipAllowed(ip: string): boolean {
    if (this.denyIps.has(ip)) return false;
    return this.allowIps.size === 0 || this.allowIps.has(ip);
  }

  limitFor(user: string | undefined): LimitConfig {
    return user === undefined ? this.config.rateLimits.anonymous : this.config.rateLimits.users;
  }
}
