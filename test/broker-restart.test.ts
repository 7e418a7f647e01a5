import { execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { createTopicsAndWait } from '@topicflow/kafkajs'
import type { KafkaCluster } from '@topicflow/testkit'
import { startOwnCluster, uniqueTopic } from './support.js'

// One broker of this file's own, SIGKILLed and restarted under `topicflow produce` with the console
// tool's defaults (acks all, retries 3, retry.backoff.ms 100, delivery.timeout.ms 120 s). As in Java's
// producer, a broker that is not there spends no retry: records wait, bounded by delivery.timeout.ms.
const BIN = fileURLToPath(new URL('../packages/cli/bin/topicflow.js', import.meta.url))
const LINES = 200_000
let cluster: KafkaCluster | undefined

beforeAll(async () => {
  cluster = await startOwnCluster({ brokers: 1, brokerConfig: { 'auto.create.topics.enable': 'false' } })
}, 300_000)
afterAll(async () => cluster?.stop())

async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = new kafkajs.Kafka({ brokers: cluster!.bootstrapServers.split(','), logLevel: kafkajs.logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await createTopicsAndWait(admin, { topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] })
  } finally {
    await admin.disconnect()
  }
}

function landedLines(topic: string): Promise<number[]> {
  return new Promise((resolve, reject) =>
    execFile('kcat', ['-b', cluster!.bootstrapServers, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%s\\n'], { maxBuffer: 1 << 30, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`kcat: ${stderr || error.message}`))
      resolve(stdout.split('\n').filter(Boolean).map((line) => Number(line.slice('line-'.length))))
    }),
  )
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Feeds LINES lines at a steady rate into the CLI; `outage` runs once `killAt` of them were written (the
 * broker killed and restarted), while the feeding goes on. Resolves with the exit code and stderr.
 */
async function produceThroughOutage(topic: string, extra: readonly string[], outage: () => Promise<void>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'produce', '--bootstrap-server', cluster!.bootstrapServers, '--topic', topic, ...extra], { stdio: ['pipe', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  child.stdin.on('error', () => undefined)
  let outageDone: Promise<void> | undefined
  // 2,000 lines every 50 ms: 40,000 lines/s, 5 s in all; the outage starts after 1 s of it.
  for (let i = 0; i < LINES; i += 2000) {
    if (i === 40_000) outageDone = outage()
    const chunk = Array.from({ length: 2000 }, (_, j) => `line-${i + j + 1}`).join('\n') + '\n'
    if (!child.stdin.write(chunk)) await new Promise((resolve) => child.stdin.once('drain', resolve))
    await sleep(50)
  }
  child.stdin.end()
  await outageDone
  const code = await Promise.race([exited, sleep(240_000).then(() => 'timeout' as const)])
  if (code === 'timeout') {
    child.kill('SIGKILL')
    throw new Error(`the CLI did not exit: ${stderr}`)
  }
  // The summary, for the record of what a run saw.
  console.log(stderr.trim())
  return { code, stderr }
}

function summaryOf(stderr: string): { read: number; delivered: number; failed: number } {
  const summary = /(\d+) lines read, (\d+) delivered, (\d+) failed/.exec(stderr)
  if (summary === null) throw new Error(`no summary: ${stderr}`)
  return { read: Number(summary[1]), delivered: Number(summary[2]), failed: Number(summary[3]) }
}

describe('topicflow produce through a broker restart (one real broker, SIGKILL)', () => {
  it('restarted 5 s later: 200,000 of 200,000 land, none twice, exit 0, with the console tool defaults', async () => {
    const topic = uniqueTopic('restart')
    await createTopic(topic, 3)
    const { code, stderr } = await produceThroughOutage(topic, [], async () => {
      await cluster!.killBroker(0)
      await sleep(5000)
      await cluster!.startBroker(0)
    })
    expect(code, stderr).toBe(0)
    expect(summaryOf(stderr)).toEqual({ read: LINES, delivered: LINES, failed: 0 })
    const landed = await landedLines(topic)
    expect(landed).toHaveLength(LINES)
    expect(new Set(landed).size).toBe(LINES)
  }, 300_000)

  it('down for longer than delivery.timeout.ms: the records that waited fail with DeliveryTimeoutError naming their lines; the rest land', async () => {
    const topic = uniqueTopic('restart-late')
    await createTopic(topic, 3)
    const deliveryTimeoutMs = 4000
    const { code, stderr } = await produceThroughOutage(topic, ['--producer-property', `delivery.timeout.ms=${deliveryTimeoutMs}`, '--timeout', '100'], async () => {
      await cluster!.killBroker(0)
      await sleep(deliveryTimeoutMs + 4000)
      await cluster!.startBroker(0)
    })
    expect(code, stderr).toBe(1)
    const summary = summaryOf(stderr)
    expect(summary.read).toBe(LINES)
    expect(summary.failed).toBeGreaterThan(0)
    expect(summary.delivered + summary.failed).toBe(LINES)
    expect(stderr).toMatch(new RegExp(`first error: line \\d+: Delivery to ${topic}-\\d timed out after ${deliveryTimeoutMs} ms`))
    const landed = await landedLines(topic)
    expect(new Set(landed).size, 'a line landed twice').toBe(landed.length)
    // A batch in flight when the broker died may have been written before it died, then failed here.
    expect(landed.length).toBeGreaterThanOrEqual(summary.delivered)
    expect(landed.length).toBeLessThan(LINES)
  }, 300_000)
})
