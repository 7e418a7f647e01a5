/**
 * @confluentinc/kafka-javascript for the comparison, built from the sources it ships. Its install script
 * downloads a prebuilt binary from GitHub, which this machine cannot reach; so it is installed with
 * `--ignore-scripts` into topicflow's cache (never into the repository's node_modules, where every
 * `npm install` would try the download) and its native addon is compiled with node-gyp against the system's
 * OpenSSL, SASL, zstd, lz4, zlib and curl (CKJS_LINKING=dynamic: the static build downloads those
 * libraries' sources, which fails here too). One make job: with two, the configure step races its
 * dependants ("No rule to make target '../deps/librdkafka/config.h'"). Built once, reused after. The
 * libraries' Debian packages are installed first when missing (as root, with apt-get).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { cacheDir, resolveNode } from '@topicflow/testkit'

export const CONFLUENT_VERSION = '1.10.1'

/**
 * Where the package lives once built for this runtime: its addon is built with NAN against one Node ABI
 * (`process.versions.modules`), so each Node line the bench runs on has a build of its own.
 */
export function confluentPackageDir(): string {
  return join(cacheDir(), `confluent-kafka-javascript-${CONFLUENT_VERSION}-abi${process.versions.modules}`, 'node_modules', '@confluentinc', 'kafka-javascript')
}

/** Installs and builds the package if it is not built yet; returns its directory, or why it cannot be had. */
export function ensureConfluent(log: (line: string) => void): { dir: string } | { error: string } {
  const dir = confluentPackageDir()
  const addon = join(dir, 'build', 'Release', 'confluent-kafka-javascript.node')
  // Written after a build with every library present: librdkafka leaves out a codec whose library is
  // missing (zstd, say) without failing, so an addon alone may lack one.
  const complete = join(dir, 'built-with-system-libraries')
  if (existsSync(addon) && existsSync(complete)) return { dir }
  const missing = installSystemLibraries(log)
  if (missing.length > 0) return { error: `its build needs ${missing.join(' ')} (Debian packages), and they could not be installed here` }
  const prefix = dirname(dirname(dirname(dir)))
  mkdirSync(prefix, { recursive: true })
  writeFileSync(join(prefix, 'package.json'), '{"private":true}\n')
  log(`building @confluentinc/kafka-javascript ${CONFLUENT_VERSION} from source into ${prefix} (once; several minutes)…`)
  const install = spawnSync('npm', ['install', `@confluentinc/kafka-javascript@${CONFLUENT_VERSION}`, '--ignore-scripts', '--no-audit', '--no-fund', '--prefix', prefix], { encoding: 'utf8' })
  if (install.status !== 0) return { error: `npm install failed: ${tail(install.stderr)}` }
  const nodeDir = resolveNode(Number(process.versions.node.split('.')[0])).headersDir
  if (!existsSync(join(nodeDir, 'include', 'node', 'node.h'))) return { error: `no Node headers (include/node/node.h) next to ${process.execPath} or in /usr; node-gyp would download them` }
  const build = spawnSync('npx', ['--yes', 'node-gyp@11', 'rebuild', `--nodedir=${nodeDir}`, '-j', '1'], {
    cwd: dir,
    encoding: 'utf8',
    // npm's config (a global npmrc may set nodedir=/usr, the machine's Node) reaches node-gyp through npx
    // as npm_config_nodedir and wins over the flag: so both name this runtime's headers.
    env: { ...process.env, CKJS_LINKING: 'dynamic', npm_config_nodedir: nodeDir },
    maxBuffer: 1 << 28,
  })
  if (build.status !== 0 || !existsSync(addon)) {
    return { error: `node-gyp rebuild failed (needs ${SYSTEM_LIBRARIES.join(' ')}, g++, make, python3): ${tail(build.stdout + build.stderr)}` }
  }
  writeFileSync(complete, `${SYSTEM_LIBRARIES.join(' ')}\n`)
  return { dir }
}

/** The Debian packages of the libraries the dynamic build links (librdkafka's codecs, TLS, SASL, OIDC). */
const SYSTEM_LIBRARIES = ['libssl-dev', 'libsasl2-dev', 'libzstd-dev', 'liblz4-dev', 'libcurl4-openssl-dev', 'zlib1g-dev']

/** Installs the missing ones with apt-get when running as root (as the test bootstrap does for kcat); returns those still missing. */
function installSystemLibraries(log: (line: string) => void): string[] {
  const missing = (): string[] => SYSTEM_LIBRARIES.filter((name) => spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' }).stdout?.includes('install ok installed') !== true)
  const absent = missing()
  if (absent.length === 0) return []
  if (process.getuid?.() !== 0 || spawnSync('apt-get', ['--version']).status !== 0) return absent
  log(`installing ${absent.join(' ')} (apt-get) for @confluentinc/kafka-javascript's build…`)
  spawnSync('/bin/sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${absent.join(' ')}`], { stdio: 'inherit' })
  return missing()
}

function tail(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ').slice(0, 400)
}
