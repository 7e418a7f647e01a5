import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync, rmSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Writable } from 'node:stream'
import { sleep } from '@topicflow/core/internal'
import { cacheDir, isProcessAlive, probeBrokers } from '@topicflow/testkit'
import { helpText, parseOptions, UsageError, type OptionSpec } from './args.js'

/** What `topicflow kafka up` leaves for `status` and `down`: the daemon that owns the cluster. */
export interface LocalClusterState {
  readonly pid: number
  readonly bootstrapServers: string
  readonly brokers: number
  /** The schema registry's URL, when started with `--registry`. */
  readonly registryUrl?: string
}

export const KAFKA_UP_OPTIONS: readonly OptionSpec[] = [
  { name: 'brokers', kind: 'value', arg: '1|3', default: '1', description: 'brokers in the cluster (KRaft; 3 gives replication factor 3, min.insync.replicas 2)' },
  { name: 'registry', kind: 'flag', description: 'also start a schema registry (Apicurio Registry, Confluent API) and print SCHEMA_REGISTRY_URL' },
  { name: 'start-timeout-ms', kind: 'value', arg: 'MS', default: '600000', description: 'longest wait for the cluster, the first Maven download of Kafka’s jars included' },
  { name: 'help', kind: 'flag', description: 'print this help' },
]

/** The state file and the daemon's log, in the testkit's cache folder. */
export function localClusterFiles(): { state: string; log: string } {
  return { state: join(cacheDir(), 'local-cluster.json'), log: join(cacheDir(), 'local-cluster.log') }
}

/** The running local cluster, or undefined when none is (a stale state file is removed). */
export function localCluster(): LocalClusterState | undefined {
  const { state } = localClusterFiles()
  if (!existsSync(state)) return undefined
  const parsed = JSON.parse(readFileSync(state, 'utf8')) as LocalClusterState
  if (isProcessAlive(parsed.pid)) return parsed
  rmSync(state, { force: true })
  return undefined
}

/** `topicflow kafka up|status|down`. Resolves with the exit code. */
export async function kafkaCommand(argv: readonly string[], out: Writable, err: Writable): Promise<number> {
  const [action, ...rest] = argv
  if (action === 'up') return up(rest, out, err)
  if (action === 'status' || action === 'down') {
    const options = parseOptions(rest, [{ name: 'help', kind: 'flag', description: 'print this help' }])
    if (options.has('help')) {
      out.write(`usage: topicflow kafka ${action}\n`)
      return 0
    }
    return action === 'status' ? status(out) : down(out, err)
  }
  if (action === undefined || action === '--help') {
    out.write(kafkaHelp())
    return 0
  }
  throw new UsageError(`unknown command kafka ${action} (up, status or down)`)
}

export function kafkaHelp(): string {
  return [
    helpText('topicflow kafka up [--brokers 1|3] [--registry]', 'Starts the testkit’s Apache Kafka (KRaft, 127.0.0.1) in the background and prints KAFKA_BROKERS=… (and SCHEMA_REGISTRY_URL=…)', KAFKA_UP_OPTIONS),
    'topicflow kafka status   prints KAFKA_BROKERS=… and exits 0 while the cluster answers; exits 1 when none runs',
    'topicflow kafka down     stops the cluster and deletes its data',
    '',
  ].join('\n')
}

async function up(argv: readonly string[], out: Writable, err: Writable): Promise<number> {
  const options = parseOptions(argv, KAFKA_UP_OPTIONS)
  if (options.has('help')) {
    out.write(kafkaHelp())
    return 0
  }
  const brokers = options.integer('brokers', 1, 3)
  if (brokers !== 1 && brokers !== 3) throw new UsageError('--brokers must be 1 or 3')
  const timeoutMs = options.integer('start-timeout-ms', 1000)
  const running = localCluster()
  if (running !== undefined) {
    err.write(`a local cluster is already running (pid ${running.pid}, ${running.brokers} broker${running.brokers > 1 ? 's' : ''})\n`)
    printState(running, out)
    return 0
  }
  const files = localClusterFiles()
  mkdirSync(cacheDir(), { recursive: true })
  const log = openSync(files.log, 'w')
  const env = { ...process.env }
  // The daemon starts a cluster of its own even when the caller's shell points at another one.
  delete env.KAFKA_BROKERS
  delete env.SCHEMA_REGISTRY_URL
  const daemonArgs = [fileURLToPath(new URL('./localClusterDaemon.js', import.meta.url)), String(brokers), files.state, ...(options.has('registry') ? ['registry'] : [])]
  const daemon = spawn(process.execPath, daemonArgs, {
    detached: true,
    stdio: ['ignore', log, log],
    env,
  })
  closeSync(log)
  daemon.unref()
  err.write(`starting Apache Kafka (${brokers} broker${brokers > 1 ? 's' : ''}) in the background; log: ${files.log}\n`)
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const state = localCluster()
    if (state !== undefined && state.pid === daemon.pid) {
      printState(state, out)
      return 0
    }
    if (daemon.exitCode !== null || (daemon.pid !== undefined && !isProcessAlive(daemon.pid))) break
    await sleep(250)
  }
  if (daemon.pid !== undefined && isProcessAlive(daemon.pid)) process.kill(daemon.pid, 'SIGTERM')
  const tail = existsSync(files.log) ? readFileSync(files.log, 'utf8').trim().split('\n').slice(-10).join('\n') : ''
  err.write(`the local cluster did not start${Date.now() >= deadline ? ` within ${timeoutMs} ms` : ''}:\n${tail}\n`)
  return 1
}

function printState(state: LocalClusterState, out: Writable): void {
  out.write(`KAFKA_BROKERS=${state.bootstrapServers}\n`)
  if (state.registryUrl !== undefined) out.write(`SCHEMA_REGISTRY_URL=${state.registryUrl}\n`)
}

async function status(out: Writable): Promise<number> {
  const state = localCluster()
  if (state === undefined) {
    out.write('no local cluster is running (start one with: topicflow kafka up)\n')
    return 1
  }
  const first = state.bootstrapServers.split(',')[0]!
  const [host, port] = first.split(':')
  const nodes = await probeBrokers(host!, Number(port), 5000).catch(() => [] as number[])
  printState(state, out)
  out.write(`${nodes.length} of ${state.brokers} broker${state.brokers > 1 ? 's' : ''} answering (pid ${state.pid})\n`)
  return nodes.length === state.brokers ? 0 : 1
}

async function down(out: Writable, err: Writable): Promise<number> {
  const state = localCluster()
  if (state === undefined) {
    out.write('no local cluster is running\n')
    return 0
  }
  process.kill(state.pid, 'SIGTERM')
  const deadline = Date.now() + 60_000
  while (isProcessAlive(state.pid) && Date.now() < deadline) await sleep(200)
  if (isProcessAlive(state.pid)) {
    err.write(`the cluster daemon (pid ${state.pid}) did not stop within 60 s; killing it (its reaper removes the brokers)\n`)
    process.kill(state.pid, 'SIGKILL')
  }
  rmSync(localClusterFiles().state, { force: true })
  out.write('stopped\n')
  return 0
}
