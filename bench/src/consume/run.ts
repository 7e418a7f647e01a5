/**
 * The consumption section: a topic of `count` records per value size (6 partitions, produced once by
 * topicflow's comparison contender before the section, uncompressed, keyed), read from the beginning to the
 * end by each contender in a child process of its own with a fresh group id: topicflow's `fromKafka` over
 * the wire transport, kafkajs's consumer (`eachBatch`), @confluentinc/kafka-javascript's KafkaJS-compatible
 * consumer and @platformatic/kafka's consumer stream when they can run here, and Kafka's own
 * `org.apache.kafka.tools.ConsumerPerformance` (full JIT, under GNU time), this machine's ceiling.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTopicsAndWait } from '@topicflow/kafkajs'
import { resolveKafka } from '@topicflow/testkit'
import { jobToEnv } from '../job.js'
import { NODE_CONTENDERS, runNode } from '../compare/run.js'
import { GNU_TIME, gnuTimeArgs, hasGnuTime, readGnuTimeUsage } from '../gnuTime.js'
import { installedVersion, javaRuntimeLabel, nodeRuntimeLabel, topicflowVersion } from '../versions.js'
import { PARTITIONS, step, type BenchAdmin } from '../topics.js'
import { readJobToEnv, type ReadResult } from './job.js'

const RUN_TIMEOUT_MS = 10 * 60_000
export const CONSUMER_PERFORMANCE = 'Java ConsumerPerformance'
/** The eachBatch size the confluent contender is given (its default, 32, is what it hands a KafkaJS-style callback at a time). */
const CONFLUENT_MAX_BATCH = 1000

/** One row of the consumption table (and of `--json`'s `consumption.results`). */
export interface ConsumptionRow {
  readonly name: string
  readonly recordSize: number
  readonly records: number
  readonly recordsPerSec: number
  readonly mbPerSec: number
  readonly cpuSeconds: number
  /** CPU seconds per million records read (the whole process: start, join, read). */
  readonly cpuPerMillion: number
  readonly peakRssMb: number
  readonly version: string
  readonly runtime: string
  /** Set when the contender could not run (its figures are then 0). */
  readonly error?: string
}

interface Reader {
  readonly name: string
  readonly version: string
  readonly runtime: string
  readonly run?: (topic: string, groupId: string, records: number) => Promise<ReadResult>
  readonly skipped?: string
}

export interface ConsumptionOptions {
  readonly admin: BenchAdmin
  readonly brokers: readonly string[]
  readonly sizes: readonly number[]
  readonly count: number
  readonly log: (line: string) => void
}

export async function compareConsumers(options: ConsumptionOptions): Promise<ConsumptionRow[]> {
  const { admin, brokers, log } = options
  const script = (name: string): string => fileURLToPath(new URL(`../consume/${name}.js`, import.meta.url))
  const node = (name: string, env: Record<string, string> = {}) => (topic: string, groupId: string, records: number) =>
    runNode(script(name), { ...readJobToEnv({ brokers: [...brokers], topic, count: records, groupId }), ...env }) as unknown as Promise<ReadResult>
  const prepared = (name: string): { env: Record<string, string> } | { error: string } => NODE_CONTENDERS.find((c) => c.name === name)?.prepare?.(log) ?? { env: {} }
  const confluent = prepared('@confluentinc/kafka-javascript')
  const platformatic = prepared('@platformatic/kafka')
  const kafka = resolveKafka()
  const readers: Reader[] = [
    { name: 'topicflow', version: topicflowVersion(), runtime: nodeRuntimeLabel(), run: node('topicflow') },
    { name: 'kafkajs eachBatch', version: installedVersion('kafkajs'), runtime: nodeRuntimeLabel(), run: node('kafkajs') },
    {
      name: '@confluentinc/kafka-javascript',
      version: NODE_CONTENDERS.find((c) => c.name === '@confluentinc/kafka-javascript')!.version(),
      runtime: nodeRuntimeLabel(),
      ...('error' in confluent ? { skipped: confluent.error } : { run: node('confluent', { ...confluent.env, BENCH_CONFLUENT_MAX_BATCH: String(CONFLUENT_MAX_BATCH) }) }),
    },
    {
      name: '@platformatic/kafka',
      version: installedVersion('@platformatic/kafka'),
      runtime: nodeRuntimeLabel(),
      ...('error' in platformatic ? { skipped: platformatic.error } : { run: node('platformatic', platformatic.env) }),
    },
    {
      name: CONSUMER_PERFORMANCE,
      version: `Kafka ${kafka.version}`,
      runtime: javaRuntimeLabel(kafka.javaBin),
      ...(hasGnuTime() ? { run: (topic: string, groupId: string, records: number) => runConsumerPerformance(brokers, topic, groupId, records) } : { skipped: `GNU time (${GNU_TIME}, Debian package "time") is needed to measure it` }),
    },
  ]
  for (const reader of readers) if (reader.skipped !== undefined) log(`  ${reader.name}: not run: ${reader.skipped}`)

  const rows: ConsumptionRow[] = []
  for (const recordSize of options.sizes) {
    const topic = `bench-consume-${recordSize}-${Date.now()}`
    await step(`creating ${topic}`, () => createTopicsAndWait(admin.admin, { topics: [{ topic, numPartitions: PARTITIONS }] }))
    try {
      log(`consumption: producing ${options.count.toLocaleString('en')} records of ${recordSize} B into ${topic} (topicflow, uncompressed, ${PARTITIONS} partitions)…`)
      await runNode(fileURLToPath(new URL('../compare/topicflow.js', import.meta.url)), jobToEnv({ brokers: [...brokers], topic, count: options.count, codec: 'none', recordSize }))
      const offsets = await step(`counting the records in ${topic}`, () => admin.admin.fetchTopicOffsets(topic))
      const records = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0)
      if (records !== options.count) throw new Error(`consumption: ${options.count} records produced, ${records} in ${topic}`)
      for (const reader of readers) {
        const base = { name: reader.name, version: reader.version, runtime: reader.runtime, recordSize }
        if (reader.run === undefined) {
          rows.push({ ...base, records: 0, recordsPerSec: 0, mbPerSec: 0, cpuSeconds: 0, cpuPerMillion: 0, peakRssMb: 0, error: `not run: ${reader.skipped}` })
          continue
        }
        const groupId = `bench-consume-${reader.name.replace(/\W+/g, '-')}-${Date.now()}`
        try {
          const result = await reader.run(topic, groupId, records)
          if (result.records < records) throw new Error(`read ${result.records} of ${records} records`)
          const perSec = result.records / result.seconds
          log(`  ${recordSize} B, ${reader.name}: ${Math.round(perSec).toLocaleString('en')} records/s`)
          rows.push({
            ...base,
            records: result.records,
            recordsPerSec: Math.round(perSec),
            mbPerSec: Math.round((perSec * recordSize) / 1e4) / 100,
            cpuSeconds: Math.round(result.cpuSeconds * 100) / 100,
            cpuPerMillion: Math.round((result.cpuSeconds / result.records) * 1e8) / 100,
            peakRssMb: Math.round(result.peakRssMb),
          })
        } catch (error) {
          const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 200)
          log(`  ${recordSize} B, ${reader.name}: failed: ${reason}`)
          rows.push({ ...base, records: 0, recordsPerSec: 0, mbPerSec: 0, cpuSeconds: 0, cpuPerMillion: 0, peakRssMb: 0, error: reason })
        }
      }
    } finally {
      await admin.admin.deleteTopics({ topics: [topic] }).catch(() => undefined)
    }
  }
  return rows
}

/**
 * Kafka's ConsumerPerformance from the broker's jars, full JIT, under GNU time: `--messages` records of
 * `topic` in a fresh group, from the earliest offset (its default without `--from-latest`). Its rate is
 * its `fetch.nMsg.sec`: the records over the time from the group's assignment to the last record (its
 * `nMsg.sec` also counts joining the group, which the Node rows do not).
 */
function runConsumerPerformance(brokers: readonly string[], topic: string, groupId: string, records: number): Promise<ReadResult> {
  const runtime = resolveKafka()
  const dir = mkdtempSync(join(tmpdir(), 'topicflow-bench-java-'))
  const usage = join(dir, 'usage')
  const args = [
    ...gnuTimeArgs(usage),
    runtime.javaBin, '-Xmx1g', '-cp', runtime.classpath, 'org.apache.kafka.tools.ConsumerPerformance',
    '--bootstrap-server', brokers.join(','), '--topic', topic, '--messages', String(records), '--group', groupId, '--hide-header', '--timeout', '60000',
  ]
  return new Promise((resolve, reject) => {
    const child = spawn(GNU_TIME, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      output += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      try {
        // start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
        const line = stdout.trim().split('\n').map((l) => l.split(',').map((f) => f.trim())).find((fields) => fields.length === 10 && /^\d+$/.test(fields[4]!))
        if (code !== 0 || line === undefined) return reject(new Error(`ConsumerPerformance exited with ${code}: ${output.slice(-2000)}`))
        const read = Number(line[4])
        const fetchMs = Number(line[7])
        resolve({ records: read, seconds: fetchMs / 1000, ...readGnuTimeUsage(usage) })
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}
