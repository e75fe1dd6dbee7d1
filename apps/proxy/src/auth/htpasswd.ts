/**
 * Users who may log in to the mirror (proxy mode), from an htpasswd file of bcrypt
 * entries (`htpasswd -B`). Other hash kinds are refused at start-up, naming the line.
 * Verified passwords are remembered briefly (bcrypt is deliberately slow), keyed by a
 * hash of user and password, in a bounded map.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { ConfigError } from '../config/load.js';

const MEMO_MS = 60_000;
const MEMO_MAX = 10_000;

export class Htpasswd {
  private readonly memo = new Map<string, number>();

  constructor(
    private readonly users: ReadonlyMap<string, string>,
    private readonly now: () => number = Date.now,
  ) {}

  static load(path: string): Htpasswd {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw new ConfigError(`invalid configuration:\n  auth.htpasswd: cannot read ${path}`);
    }
    const users = new Map<string, string>();
    text.split('\n').forEach((raw, index) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const colon = line.indexOf(':');
      const hash = line.slice(colon + 1);
      if (colon <= 0 || !/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
        throw new ConfigError(`invalid configuration:\n  auth.htpasswd: ${path} line ${index + 1} is not a bcrypt entry (use htpasswd -B)`);
      }
      users.set(line.slice(0, colon), hash);
    });
    return new Htpasswd(users);
  }

  get size(): number {
    return this.users.size;
  }

  async verify(user: string, password: string): Promise<boolean> {
    const hash = this.users.get(user);
    if (!hash) return false;
    const key = createHash('sha256').update(`${user}\0${password}\0${hash}`).digest('base64url');
    const until = this.memo.get(key);
    if (until !== undefined && until > this.now()) return true;
    const ok = await bcrypt.compare(password, hash);
    if (ok) {
      this.memo.set(key, this.now() + MEMO_MS);
      while (this.memo.size > MEMO_MAX) this.memo.delete(this.memo.keys().next().value as string);
    }
    return ok;
  }
}
