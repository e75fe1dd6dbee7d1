/**
 * Small whole objects (manifests, tag records) by key. Adapters: a directory (writes
 * are atomic: temp file + rename) and S3. Keys are built from validated names only;
 * the filesystem adapter still refuses any key that would leave its root.
 */
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve, sep } from 'node:path';

export interface ObjectStore {
  get(key: string): Promise<Buffer | undefined>;
  put(key: string, data: Buffer): Promise<void>;
  delete(key: string): Promise<void>;
}

export class FsObjectStore implements ObjectStore {
  private readonly root: string;

  constructor(
    root: string,
    private readonly tmpDir: string,
  ) {
    this.root = resolve(root);
  }

  private pathOf(key: string): string {
    const path = resolve(join(this.root, key));
    if (!path.startsWith(this.root + sep)) throw new Error(`object key escapes the store: ${key}`);
    return path;
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async put(key: string, data: Buffer): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
    const tmp = join(this.tmpDir, `object-${randomUUID()}`);
    await writeFile(tmp, data);
    await rename(tmp, path);
  }

  async delete(key: string): Promise<void> {
    await unlink(this.pathOf(key)).catch(() => {});
  }
}
