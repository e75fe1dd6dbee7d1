/**
 * Who may pull what: per user, for anonymous clients, and a default for other logged-in
 * users. A rule lists the registries allowed and image globs allowed/blocked; a block
 * wins over an allow. A refused image answers DENIED with the operator's message.
 */
import { RegistryError } from '@docxy/proxy-core';
import { globToRegExp } from './glob.js';

export interface RuleConfig {
  registries: string[];
  allow: string[];
  block: string[];
  message?: string;
}

interface CompiledRule {
  registries: Set<string> | 'all';
  allow: RegExp[];
  block: RegExp[];
  message: string;
}

const DEFAULT_MESSAGE = 'this image is not available through this mirror';

function compile(rule: RuleConfig): CompiledRule {
  return {
    registries: rule.registries.includes('*') ? 'all' : new Set(rule.registries),
    allow: rule.allow.map(globToRegExp),
    block: rule.block.map(globToRegExp),
    message: rule.message ?? DEFAULT_MESSAGE,
  };
}

export class ImageRules {
  private readonly anonymous: CompiledRule;
  private readonly users: Map<string, CompiledRule>;
  private readonly fallback: CompiledRule;

  constructor(config: { anonymous: RuleConfig; default: RuleConfig; users: Record<string, RuleConfig> }) {
    this.anonymous = compile(config.anonymous);
    this.fallback = compile(config.default);
    this.users = new Map(Object.entries(config.users).map(([user, rule]) => [user, compile(rule)]));
  }

  /** Whether `user` (undefined: anonymous) may pull `registry/repository`. */
  allows(user: string | undefined, registry: string, repository: string): boolean {
    const rule = this.ruleOf(user);
    const image = `${registry}/${repository}`;
    const registryOk = rule.registries === 'all' || rule.registries.has(registry);
    return registryOk && rule.allow.some((re) => re.test(image)) && !rule.block.some((re) => re.test(image));
  }

  /** Throws DENIED unless `user` (undefined: anonymous) may pull `registry/repository`. */
  check(user: string | undefined, registry: string, repository: string): void {
    if (!this.allows(user, registry, repository)) {
      throw new RegistryError('DENIED', this.ruleOf(user).message, { detail: { image: `${registry}/${repository}` } });
    }
  }

  private ruleOf(user: string | undefined): CompiledRule {
    return user === undefined ? this.anonymous : (this.users.get(user) ?? this.fallback);
  }
}
