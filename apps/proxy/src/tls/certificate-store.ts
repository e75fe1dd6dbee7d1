/**
 * ACME state on disk, under `<dataDir>/acme/<CA>/` (0700; files 0600): the account key
 * and the current certificate. One folder per directory URL, because an account belongs
 * to one CA and a staging certificate must not be reused after switching to production.
 * The certificate and its key live in ONE file written by rename, so a crash can never
 * leave a new chain beside an old key.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCertificate, type ServedCertificate } from './certificate.js';

const PEM_KEY = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]+?-----END \1PRIVATE KEY-----\n?/;

/** "https://acme.example.org/directory" → "acme.example.org_directory": a safe folder name. */
export function caFolderName(directoryUrl: string): string {
  const url = new URL(directoryUrl);
  return `${url.host}${url.pathname}`.replace(/[^A-Za-z0-9.-]+/g, '_').replace(/_+$/, '');
}

export class CertificateStore {
  readonly dir: string;

  constructor(dataDir: string, directoryUrl: string) {
    this.dir = join(dataDir, 'acme', caFolderName(directoryUrl));
  }

  get certificatePath(): string {
    return join(this.dir, 'certificate.pem');
  }

  /** The account key, created (and kept) on first use. */
  async accountKey(create: () => Promise<Buffer>): Promise<Buffer> {
    const path = join(this.dir, 'account.key');
    try {
      return readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const key = await create();
    this.#write(path, key);
    return key;
  }

  /** The stored certificate; undefined when there is none. Throws when the file is damaged. */
  load(): ServedCertificate | undefined {
    let text: string;
    try {
      text = readFileSync(this.certificatePath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const key = PEM_KEY.exec(text)?.[0];
    if (!key) throw new Error(`${this.certificatePath} holds no private key`);
    return parseCertificate(text.replace(key, ''), key);
  }

  save(certificate: ServedCertificate): void {
    this.#write(this.certificatePath, `${certificate.chainPem}${certificate.keyPem}`);
  }

  #write(path: string, content: string | Buffer): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, content, { mode: 0o600 });
    renameSync(temporary, path);
  }
}
