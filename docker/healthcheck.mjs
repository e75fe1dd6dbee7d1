// The image's HEALTHCHECK: GET /healthz on the address the mirror listens on, read from the
// same configuration `serve` loads (DOCXY_CONFIG and DOCXY_* variables), over HTTPS when TLS
// is on (a `tls` certificate or ACME's). Exit 0 healthy, 1 not. Loopback only: a wildcard bind is checked on 127.0.0.1.
import http from 'node:http';
import https from 'node:https';
import { loadConfig } from '/app/apps/proxy/dist/config/load.js';

const config = loadConfig({ env: process.env });
const at = config.listen.lastIndexOf(':');
const bound = config.listen.slice(0, at).replace(/^\[|\]$/g, '');
const host = bound === '' || bound === '0.0.0.0' || bound === '::' ? '127.0.0.1' : bound;
const client = config.tls || config.acme ? https : http;
// The certificate names the public domain, not the loopback address asked here.
const req = client.get(
  { host, port: Number(config.listen.slice(at + 1)), path: '/healthz', rejectUnauthorized: false, timeout: 4000 },
  (res) => {
    res.resume();
    process.exit(res.statusCode === 200 ? 0 : 1);
  },
);
req.on('timeout', () => req.destroy());
req.on('error', () => process.exit(1));
