/** An S3-compatible server (s3rver) on loopback for the S3-mode mirror tests. */
import { createRequire } from 'node:module';
import { tempDir } from './tmp.js';

const require = createRequire(import.meta.url);
type S3rverCtor = new (options: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void> };

export async function startS3rver(bucket: string): Promise<{ endpoint: string; close(): Promise<void> }> {
  const dir = tempDir('s3rver');
  const S3rver = require('s3rver') as S3rverCtor;
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir.path, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      await server.close();
      dir.remove();
    },
  };
}
