// A self-signed certificate made at run time for loopback TLS fakes (openssl req; valid for
// 127.0.0.1 and localhost, one day). Clients trust it through a pool's `ca` option or
// NODE_EXTRA_CA_CERTS, never by turning verification off. Made once per process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  key: string;
  cert: string;
}

let made: TestCert | undefined;

export function selfSignedCert(): TestCert {
  if (made) return made;
  const dir = mkdtempSync(join(tmpdir(), 'weaver-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'pipe' });
    made = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
    return made;
  } catch (e) {
    throw new Error(`selfSignedCert: openssl could not make a test certificate (is openssl installed?): ${(e as Error).message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
