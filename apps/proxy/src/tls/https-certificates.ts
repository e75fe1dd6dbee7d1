/**
 * Where the HTTPS listener's certificate comes from: `tls` files (reloaded on change) or
 * ACME (`acme`: ordered, stored, renewed, with the port-80 listener the CA validates
 * through). Either way the result is a CertificateSlot the server is bound to.
 */
import acme from 'acme-client';
import { publicUrlOf } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { acmeTransport, type AcmeTransport } from './acme-http.js';
import { AcmeManager } from './acme-manager.js';
import { CertificateSlot } from './certificate-slot.js';
import { CertificateStore } from './certificate-store.js';
import { ChallengeResponder } from './challenge-responder.js';
import { watchCertificateFiles, type FileCertificates } from './file-certificates.js';
import { startHttpListener, type HttpListener } from './http-listener.js';

export interface HttpsCertificates {
  slot: CertificateSlot;
  /** The ACME HTTP listener's address (acme only). */
  httpUrl?: string;
  stop(): Promise<void>;
}

export function acmeDirectoryUrl(settings: NonNullable<Config['acme']>): string {
  if (settings.directoryUrl) return settings.directoryUrl;
  return settings.staging ? acme.directory.letsencrypt.staging : acme.directory.letsencrypt.production;
}

/**
 * The certificate source for `config`, or undefined for plain HTTP. `tls` files are read
 * now (an unusable pair is a start-up error); ACME starts its HTTP listener now (a port
 * that cannot be bound is a start-up error) and orders in the background.
 */
export async function startHttpsCertificates(config: Config, logger: Logger): Promise<HttpsCertificates | undefined> {
  const slot = new CertificateSlot();
  if (config.tls) {
    let files: FileCertificates;
    try {
      files = watchCertificateFiles({ cert: config.tls.cert, key: config.tls.key, slot, logger });
    } catch (err) {
      throw new Error(`tls: cannot serve ${config.tls.cert} with ${config.tls.key}: ${(err as Error).message}`);
    }
    return { slot, stop: async () => files.stop() };
  }
  const settings = config.acme;
  if (!settings) return undefined;
  const directoryUrl = acmeDirectoryUrl(settings);
  // With acme the public URL is configured or the first domain: never the bound address.
  const publicUrl = publicUrlOf(config, { address: '0.0.0.0', port: 0 });
  const challenges = new ChallengeResponder();
  // An unreadable CA bundle or a port that cannot be bound is a start-up error, said as such.
  let transport: AcmeTransport;
  try {
    transport = acmeTransport(settings.caBundle);
  } catch (err) {
    throw new Error(`acme.caBundle: cannot read ${settings.caBundle}: ${(err as Error).message}`);
  }
  let http: HttpListener;
  try {
    http = await startHttpListener({
      listen: settings.httpListen,
      challenges,
      domains: settings.domains,
      httpsPort: publicUrl.port,
      onChallenge: (_token, found) => logger.info({ found }, 'ACME: challenge requested'),
    });
  } catch (err) {
    transport.close();
    throw new Error(`acme.httpListen: cannot listen on ${settings.httpListen}: ${(err as Error).message}`);
  }
  logger.info({ url: http.url, domains: settings.domains, directoryUrl }, 'ACME HTTP listener (challenges, health, redirect to HTTPS)');
  const manager = new AcmeManager({
    domains: settings.domains,
    email: settings.email,
    directoryUrl,
    store: new CertificateStore(config.dataDir, directoryUrl),
    challenges,
    slot,
    transport,
    logger,
    policy: {
      renewBeforeMs: settings.renewBefore,
      checkIntervalMs: settings.checkInterval,
      retryMinMs: settings.retryMin,
      retryMaxMs: settings.retryMax,
    },
  });
  manager.start();
  return {
    slot,
    httpUrl: http.url,
    async stop() {
      await manager.stop();
      await http.close();
      transport.close();
    },
  };
}
