/**
 * The producer comparison: every contender sends the same keyed records (values of each size) into a fresh
 * 6-partition topic, acks=all, with each codec, on the same broker in the same run. Node contenders run in
 * child processes of their own (their CPU and peak RSS are theirs alone); Kafka's own
 * `org.apache.kafka.tools.ProducerPerformance` from the broker's jars is this machine's ceiling, under GNU
 * time for its CPU and RSS. Each run's record count is checked at the broker afterwards.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Codec } from '@topicflow/core'
import { resolveKafka } from '@topicflow/testkit'
import { jobToEnv, type BenchJob, type RunResult } from '../job.js'
import { CONFLUENT_VERSION, ensureConfluent } from './confluentBuild.js'
import { kcatVersion, runKcat } from './kcat.js'
import { GNU_TIME, gnuTimeArgs, hasGnuTime, readGnuTimeUsage } from '../gnuTime.js'
import { installedVersion, javaRuntimeLabel, nodeRuntimeLabel, topicflowVersion } from '../versions.js'
import { inFreshTopic, type BenchAdmin } from '../topics.js'

const RUN_TIMEOUT_MS = 10 * 60_000
const LINGER_MS = 5

/** One row of the comparison table (and of `--json`'s `results`). */
export interface ComparisonRow {
  readonly name: string
  readonly cluster: string
  readonly recordSize: number
  readonly codec: Codec
  readonly records: number
  readonly recordsPerSec: number
  readonly mbPerSec: number
  /** Null for a contender that reports no per-record latency (kcat). */
  readonly p50Ms: number | null
  readonly p99Ms: number | null
  readonly cpuSeconds: number
  readonly peakRssMb: number
  /** The contender's release, e.g. "2.12.1" (topicflow's with the commit it was built from). */
  readonly version: string
  /** What it ran on, e.g. "Node 26.10.0" or "Java 17.0.15". */
  readonly runtime: string
  /** Set when the contender could not do this run (say, a codec it lacks): the figures are then 0. */
  readonly error?: string
}

interface NodeContender {
  readonly name: string
  readonly script: string
  /** Its release, as installed (or built) for the bench. */
  readonly version: () => string
  readonly env?: Record<string, string>
  /** At most this many records for this contender (a slow one would take minutes for the full count). */
  readonly maxRecords?: number
  /** Readies what it needs; returns its environment, or why it cannot run here. */
  readonly prepare?: (log: (line: string) => void) => { env: Record<string, string> } | { error: string }
}

function prepareConfluent(log: (line: string) => void): { env: Record<string, string> } | { error: string } {
  const built = ensureConfluent(log)
  return 'error' in built ? built : { env: { BENCH_CONFLUENT_DIR: built.dir } }
}

/** @platformatic/kafka 2.x declares the Node lines it runs on; on another (Node 20) it is not run, and the table says why. */
function preparePlatformatic(): { env: Record<string, string> } | { error: string } {
  const major = Number(process.versions.node.split('.')[0])
  const minor = Number(process.versions.node.split('.')[1])
  const runs = (major === 22 && minor >= 22) || (major === 24 && minor >= 6) || major > 24
  return runs ? { env: {} } : { error: `@platformatic/kafka ${installedVersion('@platformatic/kafka')} needs Node >= 22.22 or >= 24.6 (its engines); this run is on Node ${process.versions.node} (--node)` }
}

export const NODE_CONTENDERS: readonly NodeContender[] = [
  { name: 'topicflow', script: 'compare/topicflow.js', version: topicflowVersion },
  { name: 'kafkajs send', script: 'compare/kafkajs.js', version: () => installedVersion('kafkajs'), env: { BENCH_KAFKAJS_MODE: 'send' }, maxRecords: 20_000 },
  { name: 'kafkajs sendBatch', script: 'compare/kafkajs.js', version: () => installedVersion('kafkajs'), env: { BENCH_KAFKAJS_MODE: 'sendBatch' } },
  { name: '@confluentinc/kafka-javascript', script: 'compare/confluent.js', version: () => CONFLUENT_VERSION, prepare: prepareConfluent },
  { name: '@platformatic/kafka', script: 'compare/platformatic.js', version: () => installedVersion('@platformatic/kafka'), prepare: preparePlatformatic },
]
export const JAVA_CONTENDER = 'Java ProducerPerformance'
export const KCAT_CONTENDER = 'kcat (librdkafka)'

export interface ComparisonOptions {
  readonly admin: BenchAdmin
  readonly brokers: readonly string[]
  /** e.g. "1 broker" or "3 brokers": a label for the rows. */
  readonly cluster: string
  readonly replicationFactor: number
  readonly sizes: readonly number[]
  readonly codecs: readonly Codec[]
  /** Records at 100 B; larger values get fewer (300/size of them, at least 20,000). */
  readonly count: number
  readonly rounds: number
  /** Only these contenders (by name) besides topicflow, which always runs; undefined for all. */
  readonly only?: ReadonlySet<string>
  readonly log: (line: string) => void
}

/** Runs every contender on every size and codec; the best (fastest) of `rounds` rounds of each. */
export async function compareProducers(options: ComparisonOptions): Promise<ComparisonRow[]> {
  const rows: ComparisonRow[] = []
  /** Contenders that cannot run here (a runtime they do not support, a build that failed), with why. */
  const skipped = new Map<string, string>()
  const prepared = new Map<string, Record<string, string>>()
  const chosen = (name: string): boolean => name === 'topicflow' || options.only === undefined || options.only.has(name)
  for (const contender of NODE_CONTENDERS) {
    if (!chosen(contender.name)) continue
    const ready = contender.prepare?.(options.log) ?? { env: {} }
    if ('error' in ready) {
      skipped.set(contender.name, ready.error)
      options.log(`  ${contender.name}: not run: ${ready.error}`)
    } else prepared.set(contender.name, ready.env)
  }
  const kcat = kcatVersion()
  if (kcat === undefined && chosen(KCAT_CONTENDER)) skipped.set(KCAT_CONTENDER, 'kcat is not installed (Debian: apt-get install kcat; npm test installs it)')
  const releases = new Map<string, { version: string; runtime: string }>([
    ...NODE_CONTENDERS.map((c) => [c.name, { version: c.version(), runtime: nodeRuntimeLabel() }] as const),
    [JAVA_CONTENDER, { version: `Kafka ${resolveKafka().version}`, runtime: javaRuntimeLabel(resolveKafka().javaBin) }],
    [KCAT_CONTENDER, { version: kcat ?? 'not installed', runtime: 'native (Debian)' }],
  ])
  await warmUp(options)
  for (const recordSize of options.sizes) {
    const count = recordsFor(options.count, recordSize)
    for (const codec of options.codecs) {
      options.log(`${options.cluster}, ${recordSize} B values, ${codec}, acks=all: ${count.toLocaleString('en')} records`)
      const best = new Map<string, RunResult>()
      const failures = new Map<string, string>()
      const runners: Array<[string, (records: number, topic: string) => Promise<RunResult>, number]> = [
        ...NODE_CONTENDERS.filter((c) => chosen(c.name) && !skipped.has(c.name)).map(
          (c) =>
            [
              c.name,
              (records: number, topic: string) =>
                runNode(fileURLToPath(new URL(`../${c.script}`, import.meta.url)), { ...jobToEnv({ brokers: [...options.brokers], topic, count: records, codec, recordSize }), ...c.env, ...prepared.get(c.name) }),
              Math.min(count, c.maxRecords ?? count),
            ] as [string, (records: number, topic: string) => Promise<RunResult>, number],
        ),
        ...(!chosen(JAVA_CONTENDER) ? [] : [[JAVA_CONTENDER, (records: number, topic: string) => runProducerPerformance(options.brokers, topic, records, recordSize, codec), count] as [string, (records: number, topic: string) => Promise<RunResult>, number]]),
        ...(!chosen(KCAT_CONTENDER) || skipped.has(KCAT_CONTENDER) ? [] : [[KCAT_CONTENDER, (records: number, topic: string) => runKcat(options.brokers, topic, records, recordSize, codec, RUN_TIMEOUT_MS), count] as [string, (records: number, topic: string) => Promise<RunResult>, number]]),
      ]
      for (let round = 0; round < options.rounds; round++) {
        // Alternate the order, so that no contender always runs on a fresher (or warmer) broker.
        for (const [name, run, records] of round % 2 === 0 ? runners : [...runners].reverse()) {
          let attempt: { result: RunResult; landed: number; topic: string }
          try {
            attempt = await inFreshTopic(options.admin, `compare-${name}`, options.replicationFactor, (topic) => run(records, topic))
          } catch (error) {
            // A contender that cannot do this run (a codec it lacks) is reported, and the others go on;
            // it is tried again in the next round (a failure may be the cluster's, not the contender's).
            const reason = lastLine(error)
            failures.set(name, reason)
            options.log(`  round ${round + 1} ${name}: failed: ${reason}`)
            continue
          }
          const { result, landed, topic } = attempt
          if (result.records !== records || landed !== records) throw new Error(`${name}: asked for ${records} records, ${result.records} acknowledged, ${landed} in ${topic}`)
          options.log(`  round ${round + 1} ${name}: ${Math.round(result.records / result.seconds).toLocaleString('en')} records/s`)
          const previous = best.get(name)
          if (previous === undefined || result.records / result.seconds > previous.records / previous.seconds) best.set(name, result)
        }
      }
      for (const [name] of runners) {
        const result = best.get(name)
        const release = releases.get(name)!
        if (result === undefined) {
          rows.push({ name, ...release, cluster: options.cluster, recordSize, codec, records: 0, recordsPerSec: 0, mbPerSec: 0, p50Ms: 0, p99Ms: 0, cpuSeconds: 0, peakRssMb: 0, error: failures.get(name) ?? 'no result' })
          continue
        }
        const perSec = result.records / result.seconds
        rows.push({
          name,
          ...release,
          cluster: options.cluster,
          recordSize,
          codec,
          records: result.records,
          recordsPerSec: Math.round(perSec),
          mbPerSec: Math.round((perSec * recordSize) / 1e4) / 100,
          p50Ms: Number.isNaN(result.p50Ms) ? null : result.p50Ms,
          p99Ms: Number.isNaN(result.p99Ms) ? null : result.p99Ms,
          cpuSeconds: Math.round(result.cpuSeconds * 100) / 100,
          peakRssMb: Math.round(result.peakRssMb),
        })
      }
      for (const [name, reason] of skipped) {
        rows.push({ name, ...releases.get(name)!, cluster: options.cluster, recordSize, codec, records: 0, recordsPerSec: 0, mbPerSec: 0, p50Ms: 0, p99Ms: 0, cpuSeconds: 0, peakRssMb: 0, error: `not run: ${reason}` })
      }
    }
  }
  return rows
}

/** How long a cluster is warmed up before anything on it is measured. */
const WARM_UP_MS = 60_000

/**
 * A fresh broker's JVM compiles its hot paths during its first minute or so under load: on three brokers
 * the same topicflow run went from 44k to 80k records/s (1 KiB, lz4) over its first 50 s, and whoever ran
 * in that time paid for it. So topicflow produces every size and codec of `options` in turn, discarded,
 * for `WARM_UP_MS`.
 */
export async function warmUp(options: Omit<ComparisonOptions, 'rounds'>): Promise<void> {
  options.log(`${options.cluster}: warming the broker up (${WARM_UP_MS / 1000} s)…`)
  const cells = options.sizes.flatMap((recordSize) => options.codecs.map((codec) => ({ recordSize, codec })))
  const script = fileURLToPath(new URL('../compare/topicflow.js', import.meta.url))
  const until = Date.now() + WARM_UP_MS
  for (let run = 0; Date.now() < until; run++) {
    const { recordSize, codec } = cells[run % cells.length]!
    await inFreshTopic(options.admin, 'warm-up', options.replicationFactor, (topic) =>
      runNode(script, jobToEnv({ brokers: [...options.brokers], topic, count: recordsFor(options.count, recordSize), codec, recordSize })),
    )
  }
}

/** Values over 300 B get fewer records (`count` × 300 / size), but at least 20,000: every run lasts seconds, which a JVM needs. */
function recordsFor(count: number, recordSize: number): number {
  return Math.max(20_000, Math.round(count * Math.min(1, 300 / recordSize)))
}

/** The line of a contender's output that says what went wrong (its last error line). */
function lastLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => /error/i.test(l) && !l.startsWith('at '))
  return (lines.pop() ?? text.split('\n')[0] ?? '').slice(0, 200)
}

/** topicflow alone, offered `perSecond` records a second for `seconds` (after a second of warm-up at the same rate): its ack latency when not saturated. */
export async function pacedLatency(options: ComparisonOptions, perSecond: number, seconds: number): Promise<RunResult & { lingerMs: number }> {
  const count = perSecond * seconds
  const { result } = await inFreshTopic(options.admin, 'paced', options.replicationFactor, (topic) =>
    runNode(fileURLToPath(new URL('../compare/topicflow.js', import.meta.url)), {
      ...jobToEnv({ brokers: [...options.brokers], topic, count, codec: 'none', recordSize: 100 } satisfies BenchJob),
      BENCH_RATE: String(perSecond),
    }),
  )
  return { ...result, lingerMs: LINGER_MS }
}

export function runNode(script: string, env: Record<string, string>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk)
      stderr = (stderr + chunk.toString()).slice(-8000)
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const last = stdout.trim().split('\n').pop() ?? ''
      if (code !== 0 || !last.startsWith('{')) return reject(new Error(`${script} ended with ${signal ?? `exit code ${code}`}${signal === 'SIGKILL' ? ` after ${RUN_TIMEOUT_MS} ms` : ''}: ${stdout.trim()}\n${stderr}`))
      resolve(JSON.parse(last) as RunResult)
    })
  })
}

/**
 * Kafka's ProducerPerformance with the same settings as the others (acks=all, idempotence, linger 5 ms,
 * 64 KiB batches, the codec), full JIT, under GNU time. Its records carry no key (the tool has none), so
 * it uses the sticky partitioner: a ceiling, not a like-for-like contender.
 */
function runProducerPerformance(brokers: readonly string[], topic: string, records: number, recordSize: number, codec: Codec): Promise<RunResult> {
  const runtime = resolveKafka()
  if (!hasGnuTime()) return Promise.reject(new Error(`GNU time (${GNU_TIME}, Debian package "time") is needed to measure the Java contender`))
  const dir = mkdtempSync(join(tmpdir(), 'topicflow-bench-java-'))
  const usage = join(dir, 'usage')
  const args = [
    ...gnuTimeArgs(usage),
    runtime.javaBin, '-Xmx1g', '-cp', runtime.classpath, 'org.apache.kafka.tools.ProducerPerformance',
    '--topic', topic, '--num-records', String(records), '--record-size', String(recordSize), '--throughput', '-1',
    '--producer-props', `bootstrap.servers=${brokers.join(',')}`, 'acks=all', 'enable.idempotence=true', `linger.ms=${LINGER_MS}`, 'batch.size=65536', `compression.type=${codec}`,
  ]
  return new Promise((resolve, reject) => {
    const child = spawn(GNU_TIME, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      try {
        // "N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency, P50 ms 50th, P95 ms 95th, P99 ms 99th, ..."
        const summary = /(\d+) records sent, ([\d.]+) records\/sec .*?, (\d+) ms 50th, \d+ ms 95th, (\d+) ms 99th/.exec(output)
        if (code !== 0 || summary === null) return reject(new Error(`ProducerPerformance exited with ${code}: ${output.slice(-2000)}`))
        const sent = Number(summary[1])
        resolve({ records: sent, seconds: sent / Number(summary[2]), p50Ms: Number(summary[3]), p99Ms: Number(summary[4]), ...readGnuTimeUsage(usage) })
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}
