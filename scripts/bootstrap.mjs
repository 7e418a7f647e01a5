// Installs what the workspace needs when it is missing, so that `npm test`, `npm run demo` and
// `npm run bench` work on a fresh clone with nothing run before them:
// - npm dependencies, when node_modules is missing or older than the lockfile;
// - with --with-kcat, Debian's kcat (the independent client the end-to-end tests read topics with).
// Kafka's own jars are resolved later, by the testkit, through Maven.
import { execSync, spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const lock = join(root, 'package-lock.json')
const installed = join(root, 'node_modules', '.package-lock.json')
const fresh = existsSync(installed) && existsSync(lock) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs
if (!fresh) {
  const command = existsSync(lock) ? 'npm ci' : 'npm install'
  console.error(`[topicflow] installing dependencies (${command})`)
  execSync(`${command} --no-audit --no-fund --loglevel=error`, { cwd: root, stdio: 'inherit' })
}

if (process.argv.includes('--with-kcat') && spawnSync('kcat', ['-V']).status !== 0) {
  const root = process.getuid?.() === 0
  const apt = spawnSync('apt-get', ['--version']).status === 0
  if (!root || !apt) {
    console.error('[topicflow] the end-to-end tests read topics back with kcat: install it (Debian/Ubuntu: sudo apt-get install kcat)')
    process.exit(1)
  }
  console.error('[topicflow] installing kcat (apt-get install kcat)')
  execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat', { stdio: 'inherit', shell: '/bin/bash' })
}
