/** A throwaway signing certificate for the test token service (openssl CLI). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

export interface SigningCert {
  certPath: string;
  key: KeyObject;
  certDer: Buffer;
}

export function makeSigningCert(dir: string, keyType: 'rsa' | 'ec' = 'rsa'): SigningCert {
  const keyPath = join(dir, `token-${keyType}.key`);
  const certPath = join(dir, `token-${keyType}.crt`);
  const keyArgs = keyType === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  execFileSync(
    'openssl',
    ['req', '-x509', ...keyArgs, '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=docxy-test-token'],
    { stdio: 'ignore' },
  );
  return { certPath, key: createPrivateKey(readFileSync(keyPath)), certDer: Buffer.from(new X509Certificate(readFileSync(certPath)).raw) };
}
