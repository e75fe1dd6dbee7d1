/**
 * Certificates from an ACME CA: the port-80 listener the CA validates through (started
 * now: a port that cannot be bound is a start-up error), and the manager that orders,
 * stores and renews in the background. Loaded by https-certificates.ts only when `acme`
 * is configured.
 */
import acme from 'acme-client';
import { publicUrlOf } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { acmeTransport, type AcmeTransport } from './acme-http.js';
import { AcmeManager } from './acme-manager.js';
import type { CertificateSlot } from './certificate-slot.js';
import { CertificateStore } from './certificate-store.js';
import { ChallengeResponder } from './challenge-responder.js';
import type { HttpsCertificates } from './https-certificates.js';
import { startHttpListener, type HttpListener } from './http-listener.js';

export function acmeDirectoryUrl(settings: NonNullable<Config['acme']>): string {
  if (settings.directoryUrl) return settings.directoryUrl;
  return settings.staging ? acme.directory.letsencrypt.staging : acme.directory.letsencrypt.production;
}

export async function startAcmeCertificates(
  config: Config,
  settings: NonNullable<Config['acme']>,
  slot: CertificateSlot,
  logger: Logger,
): Promise<HttpsCertificates> {
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
