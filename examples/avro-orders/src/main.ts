/**
 * `npm start` here: 10,000 orders (AVRO_ORDERS for another count) as Avro in Confluent's wire format,
 * schema from `order.avsc` registered in a real schema registry, keyed by store (an Avro string key with
 * its own subject), acks=all. Uses KAFKA_BROKERS and SCHEMA_REGISTRY_URL when set, and the testkit's
 * Kafka and registry otherwise. The last stdout line is one JSON object with the figures.
 */
import { fileURLToPath } from 'node:url'
import kafkajs from 'kafkajs'
import { batch, fromAsyncIterable, KafkaSink, key, partition, retry, serialize, toKafka, type SerializationError } from '@topicflow/core'
import { wireTransport } from '@topicflow/wire'
import { avroSerializer } from '@topicflow/avro'
import { startKafka, startSchemaRegistry } from '@topicflow/testkit'

interface Order {
  orderId: string
  storeId: string
  placedAt: number
  totalCents: number
  lines: Array<{ sku: string; quantity: number }>
  coupon: string | null
}

const COUNT = Number(process.env.AVRO_ORDERS ?? 10_000)

async function* orders(count: number): AsyncGenerator<Order> {
  for (let i = 0; i < count; i++) {
    const lines = Array.from({ length: 1 + (i % 3) }, (_, j) => ({ sku: `sku-${(i * 7 + j) % 500}`, quantity: 1 + ((i + j) % 4) }))
    yield {
      orderId: `order-${i}`,
      storeId: `store-${String(i % 24).padStart(2, '0')}`,
      placedAt: Date.now(),
      totalCents: lines.reduce((sum, l) => sum + l.quantity * 499, 0),
      lines,
      coupon: i % 10 === 0 ? 'WELCOME10' : null,
    }
  }
}

async function main(): Promise<void> {
  if (process.env.KAFKA_BROKERS === undefined || process.env.SCHEMA_REGISTRY_URL === undefined) {
    console.error('starting a local Kafka and schema registry (set KAFKA_BROKERS and SCHEMA_REGISTRY_URL to use yours)…')
  }
  const [cluster, registry] = await Promise.all([startKafka({ brokers: 1 }), startSchemaRegistry()])
  const brokers = cluster.bootstrapServers.split(',')
  const transport = wireTransport({ brokers, clientId: 'avro-orders-example' })
  try {
    const topic = `avro-orders-${Date.now()}`
    const admin = new kafkajs.Kafka({ brokers, clientId: 'avro-orders-admin', logLevel: kafkajs.logLevel.NOTHING }).admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })
    await admin.disconnect()
    // Wait until the broker lists it (kafkajs's waitForLeaders gives up on a broker that has not applied it yet).
    await transport.partitionCount(topic, { timeoutMs: 60_000 })

    const values = await avroSerializer<Order>({ registry: registry.url, topic, schemaFile: fileURLToPath(new URL('order.avsc', import.meta.url)) })
    const keys = await avroSerializer<string>({ registry: registry.url, topic, schema: { type: 'string' }, isKey: true })
    const sink = new KafkaSink<Order>(transport, { acks: 'all' })
    let delivered = 0
    let failed = 0
    const invalid: SerializationError[] = []
    const started = performance.now()
    await new Promise<void>((resolve, reject) =>
      fromAsyncIterable(orders(COUNT), sink)
        .pipe(
          serialize(topic, values, { onError: (error) => invalid.push(error) }),
          key((order) => order.storeId, keys),
          partition(sink),
          batch({ lingerMs: 5, maxBytes: 64 * 1024 }),
          retry(),
          toKafka(sink),
        )
        .subscribe({
          next: (report) => (report.status === 'delivered' ? delivered++ : failed++),
          error: reject,
          complete: resolve,
        }),
    )
    const seconds = (performance.now() - started) / 1000
    const schemaId = values({ orderId: 'x', storeId: 'x', placedAt: 0, totalCents: 0, lines: [], coupon: null })!.readUInt32BE(1)
    console.log(`delivered ${delivered.toLocaleString('en')} Avro orders to ${topic} in ${seconds.toFixed(2)} s (schema id ${schemaId}, subject ${topic}-value)`)
    console.log(
      JSON.stringify({
        topic,
        delivered,
        failed: failed + invalid.length,
        recordsPerSec: Math.round(delivered / seconds),
        schemaId,
        valueSubject: `${topic}-value`,
        keySubject: `${topic}-key`,
        brokers: cluster.bootstrapServers,
        registry: registry.url,
      }),
    )
    if (failed + invalid.length > 0) process.exitCode = 1
  } finally {
    await transport.close()
    await Promise.all([cluster.stop(), registry.stop()])
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
