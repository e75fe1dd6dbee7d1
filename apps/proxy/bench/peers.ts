/**
 * The peers a benchmark run measures Docxy against, all on loopback: nginx serving
 * the blob file (the sendfile ceiling) and Debian's docker-registry as a pull-through
 * cache (distribution, the reference mirror).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { freePort } from '../test/testbed/http-server.js';
import { startRegistry, type RegistryProcess } from '../test/testbed/registry-process.js';

export interface Nginx {
  url: string;
  /** The master process; its workers are its children. */
  pid: number;
  stop(): Promise<void>;
}

/** nginx with sendfile serving each file at /<its name>. */
export async function startNginx(dir: string, files: string[]): Promise<Nginx> {
  const port = await freePort();
  const www = join(dir, 'www');
  mkdirSync(www, { recursive: true });
  for (const file of files) copyFileSync(file, join(www, basename(file)));
  // nginx workers run as an unprivileged user: open the path to them (temp dirs are 0700).
  for (let path = www; path !== '/' && path.length > 1; path = dirname(path)) {
    if (path.startsWith(tmpdir())) chmodSync(path, 0o755);
  }
  for (const sub of ['body', 'proxy', 'fastcgi', 'scgi', 'uwsgi']) mkdirSync(join(dir, sub), { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  scgi_temp_path ${dir}/scgi;
  uwsgi_temp_path ${dir}/uwsgi;
  server { listen 127.0.0.1:${port}; root ${www}; }
}
`,
  );
  const child: ChildProcess = spawn('nginx', ['-c', conf, '-p', dir], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${url}/`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** distribution as a pull-through cache of `remoteUrl` (no auth on its own side). */
export function startDistributionProxy(dir: string, remoteUrl: string): Promise<RegistryProcess> {
  return startRegistry({ dir, proxyRemoteUrl: remoteUrl });
}
