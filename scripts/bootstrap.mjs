// Installs the workspace's dependencies when they are missing or older than the lockfile, so that
// `npm test`, `npm run demo` and `npm run bench` work on a fresh clone with nothing run before them.
import { execSync } from 'node:child_process'
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
