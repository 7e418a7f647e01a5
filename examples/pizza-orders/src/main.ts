/**
 * The main demo (`npm run demo`): 200,000 generated pizza orders, keyed by store, as JSON, zstd, acks=all,
 * into a new 6-partition topic on a local Kafka (or KAFKA_BROKERS), read back to verify the count.
 * Progress goes to stderr; the last stdout line is one JSON object with the figures.
 */
import kafkajs from 'kafkajs'
import { KafkaSink } from '@topicflow/core'
import { createTopicsAndWait, registerCodecs } from '@topicflow/kafkajs'
import { wireTransport } from '@topicflow/wire'
import { runKafkaTool, startKafka } from '@topicflow/testkit'
import { pizzaPayloadBytes, pizzaPipeline, type PizzaOrder } from './pipeline.js'
import { progressBar } from './progress.js'

const COUNT = Number(process.env.PIZZA_ORDERS ?? 200_000)
const PARTITIONS = 6

async function main(): Promise<void> {
  if (process.env.KAFKA_BROKERS === undefined) console.error('starting a local Kafka (set KAFKA_BROKERS to use yours)…')
  const cluster = await startKafka({ brokers: 1 })
  const brokers = cluster.bootstrapServers.split(',')
  const transport = wireTransport({ brokers, clientId: 'pizza-orders-demo' })
  try {
    const topic = `pizza-orders-${Date.now()}`
    await createTopic(brokers, topic, PARTITIONS)
    console.error(`producing ${COUNT.toLocaleString('en')} orders to ${topic} on ${cluster.bootstrapServers}`)

    const sink = new KafkaSink<PizzaOrder>(transport, { acks: 'all' })
    const latencies = new Float64Array(COUNT)
    let delivered = 0
    let failed = 0
    let payloadBytes = 0
    const bar = progressBar(COUNT, 'producing')
    const started = performance.now()
    await new Promise<void>((resolve, reject) =>
      pizzaPipeline(sink, topic, COUNT).subscribe({
        next(report) {
          if (report.status === 'failed') {
            failed++
            return
          }
          latencies[delivered++] = Date.now() - report.source.placedAt
          bar.update(delivered)
        },
        error: reject,
        complete: resolve,
      }),
    )
    const seconds = (performance.now() - started) / 1000
    bar.finish(delivered)
    payloadBytes = await pizzaPayloadBytes(COUNT)

    const readBack = await countTopic(brokers, topic, delivered)
    const onDisk = await bytesOnDisk(cluster.bootstrapServers, topic)
    const sorted = Array.from(latencies.subarray(0, delivered)).sort((a, b) => a - b)
    const quantile = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
    const summary = {
      topic,
      delivered,
      failed,
      partitions: PARTITIONS,
      readBack,
      verified: readBack === delivered && failed === 0,
      seconds: round(seconds),
      recordsPerSec: Math.round(delivered / seconds),
      mbPerSec: round(payloadBytes / seconds / 1e6),
      p50Ms: quantile(0.5),
      p99Ms: quantile(0.99),
      compressionRatio: onDisk === undefined ? null : round(payloadBytes / onDisk),
      brokers: cluster.bootstrapServers,
    }
    console.log(`delivered ${delivered.toLocaleString('en')} orders in ${summary.seconds} s: ${summary.recordsPerSec.toLocaleString('en')} records/s, ${summary.mbPerSec} MB/s`)
    console.log(`delivery latency p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms; zstd ratio ${summary.compressionRatio ?? 'n/a'} (JSON bytes / bytes on disk)`)
    console.log(`read back ${readBack.toLocaleString('en')} records from ${topic}: ${summary.verified ? 'verified' : 'MISMATCH'}`)
    console.log(JSON.stringify(summary))
    if (!summary.verified) process.exitCode = 1
  } finally {
    await transport.close()
    await cluster.stop()
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100
}

async function createTopic(brokers: string[], topic: string, numPartitions: number): Promise<void> {
  const admin = new kafkajs.Kafka({ brokers, clientId: 'pizza-orders-admin', logLevel: kafkajs.logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await createTopicsAndWait(admin, { topics: [{ topic, numPartitions }] })
  } finally {
    await admin.disconnect()
  }
}

/** Reads the whole topic back with a kafkajs consumer and counts the orders that parse. */
async function countTopic(brokers: string[], topic: string, expected: number): Promise<number> {
  // kafkajs reads zstd, lz4 and snappy only with codecs registered: topicflow's own, the ones that wrote them.
  registerCodecs()
  const consumer = new kafkajs.Kafka({ brokers, clientId: 'pizza-orders-verify', logLevel: kafkajs.logLevel.NOTHING }).consumer({
    groupId: `${topic}-verify`,
    maxBytes: 64 << 20,
  })
  await consumer.connect()
  let count = 0
  const bar = progressBar(expected, 'reading back')
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => resolve(), 120_000)
      consumer
        .run({
          eachBatch: async ({ batch: fetched }) => {
            for (const message of fetched.messages) {
              JSON.parse(message.value?.toString() ?? 'null') as PizzaOrder
              count++
            }
            bar.update(count)
            if (count >= expected) {
              clearTimeout(timer)
              resolve()
            }
          },
        })
        .catch(reject)
    })
  } finally {
    bar.finish(count)
    await consumer.disconnect()
  }
  return count
}

/** The topic's size on the broker's disk, from Kafka's own LogDirsCommand (DescribeLogDirs). */
async function bytesOnDisk(bootstrap: string, topic: string): Promise<number | undefined> {
  try {
    const { code, stdout } = await runKafkaTool('org.apache.kafka.tools.LogDirsCommand', ['--bootstrap-server', bootstrap, '--describe', '--topic-list', topic])
    const jsonLine = stdout.split('\n').find((line) => line.startsWith('{'))
    if (code !== 0 || jsonLine === undefined) return undefined
    const report = JSON.parse(jsonLine) as { brokers: Array<{ logDirs: Array<{ partitions: Array<{ size: number }> }> }> }
    return report.brokers.flatMap((b) => b.logDirs.flatMap((d) => d.partitions.map((p) => p.size))).reduce((a, b) => a + b, 0)
  } catch {
    return undefined
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
