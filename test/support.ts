import { execFile, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { inject } from 'vitest'
import kafkajs from 'kafkajs'
import { runKafkaTool, startKafka, type KafkaCluster, type StartKafkaOptions } from '@topicflow/testkit'
import type { Transport } from '@topicflow/core'
import { createTopicsAndWait, kafkajsTransport } from '@topicflow/kafkajs'
import { wireTransport, type WireTransportOptions } from '@topicflow/wire'

/** The installed `topicflow` command (bin/, which runs dist/bin.js). */
export const TOPICFLOW_BIN = fileURLToPath(new URL('../packages/cli/bin/topicflow.js', import.meta.url))

/** How a `topicflow` run ended, what it printed, and how long it took. */
export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

/** Runs the installed `topicflow` command with `input` on stdin. */
export function topicflow(args: readonly string[], input = '', env: NodeJS.ProcessEnv = process.env): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, [TOPICFLOW_BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: Date.now() - started })
    })
    child.stdin.on('error', () => undefined)
    child.stdin.end(input)
  })
}

/** The transports every end-to-end test of the producer path runs against: topicflow's own, and kafkajs. */
export const TRANSPORT_NAMES = ['wire', 'kafkajs'] as const
export type TransportName = (typeof TRANSPORT_NAMES)[number]

/** Options both transports take under the same names. */
export type CommonTransportOptions = Pick<WireTransportOptions, 'ssl' | 'sasl' | 'connectionTimeout' | 'clientId'> & { readonly brokers: string[] }

export function makeTransport(name: TransportName, options: CommonTransportOptions): Transport {
  return name === 'wire' ? wireTransport(options) : kafkajsTransport(options)
}

export const brokers = (): string => inject('kafkaBrokers')
export const registryUrl = (): string => inject('schemaRegistryUrl')

/** One record's raw key and value bytes, as kcat read them (null stays null). */
export interface RawRecord {
  partition: number
  key: Buffer | null
  value: Buffer | null
}

/** Reads a whole topic's raw bytes with kcat: each record framed as partition and key length (text lines), key, value length (int32), value. */
export function readTopicRaw(topic: string): Promise<RawRecord[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'kcat',
      ['-b', brokers(), '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p\\n%K\\n%k%R%s'],
      { maxBuffer: 1 << 30, timeout: 60_000, encoding: 'buffer' },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`kcat failed: ${stderr.toString() || error.message}`))
        const records: RawRecord[] = []
        let at = 0
        while (at < stdout.length) {
          const line = (): number => {
            const newline = stdout.indexOf(10, at)
            const n = Number(stdout.subarray(at, newline).toString())
            at = newline + 1
            return n
          }
          const partition = line()
          const keyLength = line()
          const key = keyLength < 0 ? null : Buffer.from(stdout.subarray(at, at + keyLength))
          at += Math.max(keyLength, 0)
          const valueLength = stdout.readInt32BE(at)
          at += 4
          const value = valueLength < 0 ? null : Buffer.from(stdout.subarray(at, at + valueLength))
          at += Math.max(valueLength, 0)
          records.push({ partition, key, value })
        }
        resolve(records)
      },
    )
  })
}

/** A topic name no other test uses. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`
}

/** Creates a topic with kafkajs's admin client and waits until it has leaders (on the suite's cluster unless `bootstrapServers` names another). */
export async function createTopic(topic: string, numPartitions: number, configEntries: Record<string, string> = {}, bootstrapServers = brokers()): Promise<void> {
  const kafka = new kafkajs.Kafka({ brokers: bootstrapServers.split(','), clientId: 'topicflow-test-admin', logLevel: kafkajs.logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  try {
    await createTopicsAndWait(admin, {
      topics: [{ topic, numPartitions, replicationFactor: 1, configEntries: Object.entries(configEntries).map(([name, value]) => ({ name, value })) }],
    })
  } finally {
    await admin.disconnect()
  }
}

/** One record as kcat (an independent client, librdkafka underneath) read it back. */
export interface ReadRecord {
  partition: number
  offset: number
  timestamp: number
  key: string | null
  value: string | null
  headers: Record<string, string>
}

/** Reads a whole topic with kcat, from the beginning to the current end (of the suite's cluster unless `bootstrapServers` names another). */
export function readTopic(topic: string, bootstrapServers = brokers()): Promise<ReadRecord[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'kcat',
      ['-b', bootstrapServers, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-J', '-X', 'check.crcs=true'],
      { maxBuffer: 1 << 30, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`kcat failed: ${stderr || error.message}`))
        const records = stdout
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => {
            const raw = JSON.parse(line) as { partition: number; offset: number; ts: number; key: string | null; payload: string | null; headers?: string[] }
            const headers: Record<string, string> = {}
            for (let i = 0; i + 1 < (raw.headers?.length ?? 0); i += 2) headers[raw.headers![i]!] = raw.headers![i + 1]!
            return { partition: raw.partition, offset: raw.offset, timestamp: raw.ts, key: raw.key, value: raw.payload, headers }
          })
        resolve(records)
      },
    )
  })
}

/** One record batch as Kafka's own DumpLogSegments describes it. */
export interface SegmentBatch {
  codec: string
  count: number
  producerId: number
}

/**
 * The record batches of one partition's log, read from disk by `kafka.tools.DumpLogSegments`: the suite's
 * broker's, or those of a broker a test started itself (its `logDir`, and the tool of its Kafka `version`).
 */
export async function dumpLogSegments(topic: string, partition: number, broker: { readonly logDir: string; readonly version?: string } = { logDir: inject('kafkaLogDir') }): Promise<SegmentBatch[]> {
  if (broker.logDir === '') throw new Error('DumpLogSegments needs the broker started by the testkit')
  const file = `${broker.logDir}/${topic}-${partition}/00000000000000000000.log`
  const { code, stdout, stderr } = await runKafkaTool('kafka.tools.DumpLogSegments', ['--files', file], { version: broker.version })
  if (code !== 0) throw new Error(`DumpLogSegments failed (${code}): ${stderr}`)
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('baseOffset:'))
    .map((line) => ({
      codec: /compresscodec: (\w+)/.exec(line)?.[1] ?? '?',
      count: Number(/count: (\d+)/.exec(line)?.[1] ?? -1),
      producerId: Number(/producerId: (-?\d+)/.exec(line)?.[1] ?? -2),
    }))
}

/**
 * A cluster of the calling test file's own, for tests that stop, kill or secure brokers: started by the
 * testkit even when KAFKA_BROKERS names a shared cluster (which a test must not stop).
 */
export async function startOwnCluster(options: StartKafkaOptions): Promise<KafkaCluster> {
  const external = process.env.KAFKA_BROKERS
  delete process.env.KAFKA_BROKERS
  try {
    return await startKafka(options)
  } finally {
    if (external !== undefined) process.env.KAFKA_BROKERS = external
  }
}
