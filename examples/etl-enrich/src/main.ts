/**
 * One instance of the ETL job (`npm start`): JSON orders from INPUT_TOPIC (default `orders`) read in consumer
 * group GROUP_ID (default `etl-enrich`), enriched, written to OUTPUT_TOPIC (default `orders-enriched`) with
 * the same key, offsets committed after delivery (GUARANTEE `at-least-once`). Start more instances with the
 * same GROUP_ID to share the partitions. Runs until SIGTERM/SIGINT (then commits what is delivered and exits
 * 0), or until EXIT_WHEN_IDLE_MS passes without input when that is set. KAFKA_BROKERS names the cluster;
 * without it a local Kafka is started and SEED_ORDERS (default 10,000) orders are written to read.
 * The last stdout line is one JSON object: consumed, produced, committed, deadLettered, seconds.
 */
import { deadLetterQueue, drainOnSignal, KafkaConsumer, KafkaSink, type ConsumedRecord } from '@topicflow/core'
import { wireTransport } from '@topicflow/wire'
import { startKafka } from '@topicflow/testkit'
import { enrichPipeline, type Order } from './pipeline.js'
import { seedOrders } from './seed.js'

const GUARANTEES = ['at-least-once'] as const

async function main(): Promise<void> {
  const input = process.env.INPUT_TOPIC ?? 'orders'
  const output = process.env.OUTPUT_TOPIC ?? 'orders-enriched'
  const groupId = process.env.GROUP_ID ?? 'etl-enrich'
  const guarantee = process.env.GUARANTEE ?? 'at-least-once'
  if (!(GUARANTEES as readonly string[]).includes(guarantee)) throw new Error(`GUARANTEE must be one of ${GUARANTEES.join(', ')}, got ${JSON.stringify(guarantee)}`)
  const ownCluster = process.env.KAFKA_BROKERS === undefined
  let idleMs = process.env.EXIT_WHEN_IDLE_MS === undefined ? undefined : Number(process.env.EXIT_WHEN_IDLE_MS)
  if (idleMs !== undefined && !(Number.isInteger(idleMs) && idleMs > 0)) throw new Error(`EXIT_WHEN_IDLE_MS must be a positive integer, got ${process.env.EXIT_WHEN_IDLE_MS}`)

  if (ownCluster) console.error('starting a local Kafka (set KAFKA_BROKERS to use yours)…')
  const cluster = await startKafka({ brokers: 1 })
  const transport = wireTransport({ brokers: cluster.bootstrapServers.split(','), clientId: `etl-enrich-${process.pid}` })
  if (ownCluster) {
    await seedOrders(transport, input, Number(process.env.SEED_ORDERS ?? 10_000))
    idleMs ??= 3_000
  }

  const consumer = new KafkaConsumer(transport, { groupId, topics: [input], autoOffsetReset: 'earliest', sessionTimeoutMs: Number(process.env.SESSION_TIMEOUT_MS ?? 10_000), heartbeatIntervalMs: 1_000, commitIntervalMs: 1_000 })
  const sink = new KafkaSink<ConsumedRecord<Order>>(transport, { acks: 'all', onError: 'report' })
  const deadLetters = deadLetterQueue<ConsumedRecord<Order>>(transport, { topic: process.env.DLQ_TOPIC ?? `${output}.dlq` })
  const started = performance.now()
  let produced = 0
  let signal: NodeJS.Signals | undefined

  const stop = (): void => void sink.close({ timeoutMs: 30_000 })
  // SIGTERM/SIGINT: the sink closes, fromKafka stops, what was read is delivered, commitOffsets commits it
  // and the consumer leaves the group; then the job ends as if it had run out of input (exit 0).
  drainOnSignal(sink, {
    exit: false,
    timeoutMs: 30_000,
    onSignal: (name) => {
      signal = name
      console.error(`${name}: committing what is delivered, then leaving the group`)
    },
  })
  // Idle means no record consumed for idleMs (counted from the start, too).
  let seen = 0
  let lastInput = Date.now()
  const idle = idleMs === undefined ? undefined : setInterval(() => {
    if (consumer.stats.consumed !== seen) {
      seen = consumer.stats.consumed
      lastInput = Date.now()
    } else if (Date.now() - lastInput > idleMs!) stop()
  }, 50)

  await new Promise<void>((resolve, reject) =>
    enrichPipeline(consumer, sink, output, deadLetters).subscribe({
      next(report) {
        if (report.status === 'delivered') produced++
      },
      error: reject,
      complete: resolve,
    }),
  ).finally(() => clearInterval(idle))
  await deadLetters.close()
  await transport.close()
  if (ownCluster) await cluster.stop()
  const { consumed, committed } = consumer.stats
  // Bad inputs go to dead letters from fromKafka and serializeFrom (counted by the queue); reports count send failures set aside.
  console.log(JSON.stringify({ consumed, produced, committed, deadLettered: deadLetters.stats.deadLettered, groupId, input, output, guarantee, seconds: Math.round((performance.now() - started) / 10) / 100, signal: signal ?? null }))
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error))
  process.exit(1)
})
