/**
 * Trust for a private ACME server. acme-client makes every request through one shared
 * axios instance and has no per-client agent option, so each manager runs its ACME calls
 * inside its own async context, and an interceptor gives the requests made in that context
 * an agent trusting the system roots plus the operator's bundle. Requests made elsewhere
 * (another manager, another CA) are left untouched.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';

const contexts = new AsyncLocalStorage<https.Agent>();
let installed = false;

export interface AcmeTransport {
  /** Runs `fn` so that its ACME requests use this transport. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  close(): void;
}

/** A transport trusting the PEM certificates in `caBundlePath` besides the system roots (none: the defaults). */
export function acmeTransport(caBundlePath: string | undefined): AcmeTransport {
  if (!caBundlePath) return { run: (fn) => fn(), close() {} };
  const agent = new https.Agent({ ca: [...rootCertificates, readFileSync(caBundlePath, 'utf8')] });
  if (!installed) {
    installed = true;
    acme.axios.interceptors.request.use((config) => {
      const trusted = contexts.getStore();
      if (trusted) config.httpsAgent = trusted;
      return config;
    });
  }
  return {
    run: (fn) => contexts.run(agent, fn),
    close: () => agent.destroy(),
  };
}
