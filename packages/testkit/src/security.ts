import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { TestkitError } from './errors.js'

/** TLS material made for one test cluster: a CA and a broker certificate for 127.0.0.1/localhost. */
export interface TestTls {
  /** The CA certificate (PEM) clients trust. */
  readonly caPem: string
  /** The broker's PKCS12 keystore and its password. */
  readonly keystore: string
  readonly password: string
}

/**
 * Makes a throwaway CA and a broker certificate signed by it, with the JDK's `keytool` (no OpenSSL
 * needed), valid two days, for 127.0.0.1 and localhost.
 */
export function makeTestTls(dir: string, keytool: string): TestTls {
  const password = 'topicflow-test-store'
  const run = (...args: string[]): void => {
    const result = spawnSync(keytool, args, { encoding: 'utf8', cwd: dir })
    if (result.status !== 0) throw new TestkitError(`keytool ${args[0]} failed: ${result.stderr || result.stdout}`)
  }
  const ca = join(dir, 'ca.p12')
  const keystore = join(dir, 'broker.p12')
  const common = ['-storetype', 'PKCS12', '-storepass', password, '-keypass', password]
  run('-genkeypair', '-alias', 'ca', '-keystore', ca, ...common, '-keyalg', 'RSA', '-keysize', '2048', '-dname', 'CN=topicflow test CA', '-ext', 'bc:c', '-validity', '2')
  run('-exportcert', '-alias', 'ca', '-keystore', ca, '-storepass', password, '-rfc', '-file', join(dir, 'ca.pem'))
  run('-genkeypair', '-alias', 'broker', '-keystore', keystore, ...common, '-keyalg', 'RSA', '-keysize', '2048', '-dname', 'CN=localhost', '-validity', '2')
  run('-certreq', '-alias', 'broker', '-keystore', keystore, '-storepass', password, '-file', join(dir, 'broker.csr'))
  run('-gencert', '-alias', 'ca', '-keystore', ca, '-storepass', password, '-infile', join(dir, 'broker.csr'), '-outfile', join(dir, 'broker.crt'), '-ext', 'SAN=ip:127.0.0.1,dns:localhost', '-rfc', '-validity', '2')
  run('-importcert', '-alias', 'ca', '-keystore', keystore, '-storepass', password, '-file', join(dir, 'ca.pem'), '-noprompt')
  run('-importcert', '-alias', 'broker', '-keystore', keystore, '-storepass', password, '-file', join(dir, 'broker.crt'))
  return { caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'), keystore, password }
}
