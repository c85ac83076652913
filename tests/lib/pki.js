'use strict';
// A throw-away test PKI made with the openssl CLI at test time:
//   const ca = createCA(dir, 'xmppgw test CA');
//   const leaf = issueCert(ca, 'xgw.test');          // SAN DNS:xgw.test
//   leaf.cert, leaf.key (paths), ca.cert (path), ca.pem (contents)
// EC P-256 keys: fast to generate, accepted by OpenSSL and LuaSec.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function openssl(args, cwd) {
  try {
    return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 });
  } catch (e) {
    const stderr = e.stderr ? e.stderr.toString() : '';
    throw new Error(`openssl ${args.join(' ')} failed: ${e.message}\n${stderr}`);
  }
}

function safeName(s) {
  return s.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Self-signed CA certificate + key in `dir`. */
function createCA(dir, commonName = 'xmppgw test CA', fileBase = 'ca') {
  fs.mkdirSync(dir, { recursive: true });
  const key = path.join(dir, `${fileBase}.key`);
  const cert = path.join(dir, `${fileBase}.crt`);
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '3', '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ], dir);
  return { dir, key, cert, pem: fs.readFileSync(cert, 'utf8'), commonName };
}

/**
 * Server certificate signed by `ca` for `dnsNames` (string or array; the first is the CN).
 * Files are written as <fileBase>.crt / <fileBase>.key in `dir` (default ca.dir).
 */
function issueCert(ca, dnsNames, { dir = ca.dir, fileBase } = {}) {
  const names = Array.isArray(dnsNames) ? dnsNames : [dnsNames];
  const base = fileBase || safeName(names[0]);
  const key = path.join(dir, `${base}.key`);
  const csr = path.join(dir, `${base}.csr`);
  const cert = path.join(dir, `${base}.crt`);
  const ext = path.join(dir, `${base}.ext`);
  fs.mkdirSync(dir, { recursive: true });
  openssl([
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', csr, '-subj', `/CN=${names[0]}`,
  ], dir);
  fs.writeFileSync(ext, [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    '',
  ].join('\n'));
  const serial = `0x${require('node:crypto').randomBytes(8).toString('hex')}`;
  openssl([
    'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', serial,
    '-days', '2', '-out', cert, '-extfile', ext,
  ], dir);
  fs.rmSync(csr, { force: true });
  fs.rmSync(ext, { force: true });
  return { names, key, cert, pem: fs.readFileSync(cert, 'utf8'), keyPem: fs.readFileSync(key, 'utf8') };
}

module.exports = { createCA, issueCert };
