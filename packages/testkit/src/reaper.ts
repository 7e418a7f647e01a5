/**
 * Runs detached beside a test process that started Kafka. When that process is gone (even killed with
 * SIGKILL), it kills the brokers' JVMs and removes their data, so no orphan JVM or data is left.
 * Arguments: the parent's pid and the cluster's data folder, whose `pids` file lists the JVMs' pids.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { isProcessAlive } from './processes.js'

const [parentArg, dataDir] = process.argv.slice(2)
const parent = Number(parentArg)

const timer = setInterval(() => {
  if (dataDir === undefined || !existsSync(dataDir)) return process.exit(0)
  if (isProcessAlive(parent)) return
  clearInterval(timer)
  const pidsFile = join(dataDir, 'pids')
  const pids = existsSync(pidsFile) ? readFileSync(pidsFile, 'utf8').split(/\s+/).filter(Boolean).map(Number) : []
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL') // each JVM leads its own process group
    } catch {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  setTimeout(() => {
    rmSync(dataDir, { recursive: true, force: true })
    process.exit(0)
  }, 500)
}, 500)
