/**
 * The key that signs the mirror's tokens (proxy mode): configured, or generated on
 * first start into <dataDir>/auth/signing-key.pem (mode 0600) and reused after, so
 * tokens survive restarts. Replicas must share one configured key.
 */
import { generateKeyPairSync, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../config/load.js';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function loadSigningKey(configured: string | undefined, dataDir: string): SigningKey {
  const path = configured ?? join(dataDir, 'auth', 'signing-key.pem');
  if (!configured && !existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(path));
  } catch {
    throw new ConfigError(`invalid configuration:\n  auth.signingKey: cannot read a private key from ${path}`);
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new ConfigError(`invalid configuration:\n  auth.signingKey: ${path} must be an EC P-256 key`);
  }
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
