/**
 * Users who may log in to the mirror (proxy mode), from an htpasswd file of bcrypt
 * entries (`htpasswd -B`). Other hash kinds are refused at start-up, naming the line.
 *
 * The file is watched by its stat (mtime, ctime, size, inode), looked at before each
 * use, so an edit takes effect on the next request without a restart: a removed user
 * can neither log in nor use a token issued before. A file that becomes unreadable or
 * invalid while running admits nobody until it is fixed (failing open would keep a
 * removed user in), and the problem is reported once per change.
 *
 * Verified passwords are remembered briefly (bcrypt is deliberately slow), keyed by a
 * hash of user, password and stored hash, in a bounded map.
 */
import { readFileSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { ConfigError } from '../config/load.js';

const MEMO_MS = 60_000;
const MEMO_MAX = 10_000;

function parse(text: string, path: string): Map<string, string> {
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
  return users;
}

function read(path: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(`invalid configuration:\n  auth.htpasswd: cannot read ${path}`);
  }
  return parse(text, path);
}

type Stats = { mtimeMs: number; ctimeMs: number; size: number; ino: number };
const signatureOf = (s: Stats): string => `${s.mtimeMs}|${s.ctimeMs}|${s.size}|${s.ino}`;

async function signature(path: string): Promise<string> {
  try {
    return signatureOf(await stat(path));
  } catch {
    return 'missing';
  }
}

export interface HtpasswdSource {
  path: string;
  /** Told when a changed file cannot be used (its users are then refused). */
  onReloadError?: (message: string) => void;
}

export class Htpasswd {
  private readonly memo = new Map<string, number>();
  private users: ReadonlyMap<string, string>;
  private seen: string | undefined;
  private checking: Promise<void> | undefined;

  constructor(
    users: ReadonlyMap<string, string>,
    private readonly source?: HtpasswdSource,
    private readonly now: () => number = Date.now,
  ) {
    this.users = users;
  }

  /** Reads the file now (a bad file stops start-up) and follows its changes afterwards. */
  static load(path: string, onReloadError?: (message: string) => void): Htpasswd {
    // Stat before reading: a change in between is then seen (and read) on the next use.
    let seen = 'missing';
    try {
      seen = signatureOf(statSync(path));
    } catch {}
    const users = new Htpasswd(read(path), { path, onReloadError });
    users.seen = seen;
    return users;
  }

  get size(): number {
    return this.users.size;
  }

  /** Is `user` in the file as it is now? */
  async has(user: string): Promise<boolean> {
    await this.refresh();
    return this.users.has(user);
  }

  async verify(user: string, password: string): Promise<boolean> {
    await this.refresh();
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

  private refresh(): Promise<void> {
    const source = this.source;
    if (!source) return Promise.resolve();
    // Concurrent requests share one stat.
    this.checking ??= (async () => {
      const current = await signature(source.path);
      if (current === this.seen) return;
      this.seen = current;
      try {
        this.users = read(source.path);
      } catch (err) {
        this.users = new Map();
        source.onReloadError?.(`${(err as Error).message}; no user can log in until it is fixed`);
      }
    })().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }
}
