import { afterAll, describe, expect, it } from 'vitest'
import { firstValueFrom, from, lastValueFrom, toArray } from 'rxjs'
import kafkajs from 'kafkajs'
import {
  batch,
  commitOffsets,
  compress,
  fromKafka,
  json,
  KafkaConsumer,
  KafkaSink,
  key,
  many,
  partition,
  serialize,
  serializeFrom,
  toKafka,
  type Codec,
  type ConsumedRecord,
} from '@topicflow/core'
import { wireTransport } from '@topicflow/wire'
import { brokers, createTopic, readTopic, uniqueTopic } from './support.js'

interface Order {
  id: number
  store: string
  qty: number
}

const transport = wireTransport({ brokers: brokers().split(','), clientId: 'consumer-test' })
afterAll(() => transport.close())

/** Writes `count` orders to `topic` (keyed by store) with `codec`. */
async function produceOrders(topic: string, count: number, codec: Codec = 'none', first = 0): Promise<void> {
  const orders = Array.from({ length: count }, (_, i) => ({ id: first + i, store: `store-${(first + i) % 23}`, qty: (first + i) % 7 }))
  const reports = await lastValueFrom(
    from(orders).pipe(serialize(topic, json<Order>()), key((o) => o.store), partition(transport), batch({ maxBytes: 64 * 1024 }), compress(codec), toKafka(transport), toArray()),
  )
  expect(reports.every((r) => r.status === 'delivered')).toBe(true)
}

/** The group's committed offsets of `topic`, summed over its partitions (kafkajs's admin: an independent client). */
async function committedTotal(groupId: string, topic: string): Promise<number> {
  const admin = new kafkajs.Kafka({ brokers: brokers().split(','), logLevel: kafkajs.logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0)
  } finally {
    await admin.disconnect()
  }
}

/** Runs the enrich job (one output per order, key kept) until it has consumed `expected` records, then closes it. */
async function runJob(options: { input: string; output: string; groupId: string; expected: number; codec?: Codec }) {
  const consumer = new KafkaConsumer(transport, { groupId: options.groupId, topics: [options.input], autoOffsetReset: 'earliest', commitIntervalMs: 200 })
  const sink = new KafkaSink<ConsumedRecord<Order>>(transport)
  const reports = lastValueFrom(
    fromKafka(consumer, { value: json<Order>(), sink }).pipe(
      serializeFrom(options.output, json(), (order) => ({ ...order.value, enriched: true, from: `${order.partition}:${order.offset}` })),
      partition(sink),
      batch(),
      compress(options.codec ?? 'none'),
      toKafka(sink),
      commitOffsets(consumer),
      toArray(),
    ),
  )
  while (consumer.stats.consumed < options.expected) await new Promise((resolve) => setTimeout(resolve, 50))
  await sink.close()
  return { reports: await reports, consumer }
}

describe('fromKafka, serializeFrom and commitOffsets (wire transport, real broker)', () => {
  it.each<Codec>(['none', 'gzip', 'snappy', 'lz4', 'zstd'])('reads every record of a %s topic once, writes one output each with the same key, and commits all of it', async (codec) => {
    const input = uniqueTopic(`consume-${codec}`)
    const output = uniqueTopic(`enriched-${codec}`)
    await createTopic(input, 6)
    await createTopic(output, 6)
    await produceOrders(input, 3_000, codec)
    const groupId = uniqueTopic('group')
    const { reports, consumer } = await runJob({ input, output, groupId, expected: 3_000, codec })
    expect(reports.filter((r) => r.status === 'delivered')).toHaveLength(3_000)
    expect(consumer.stats.consumed).toBe(3_000)
    expect(consumer.stats.committed).toBe(3_000)
    expect(await committedTotal(groupId, input)).toBe(3_000)
    const written = await readTopic(output)
    expect(written).toHaveLength(3_000)
    const ids = written.map((r) => (JSON.parse(r.value!) as Order).id).sort((a, b) => a - b)
    expect(ids).toEqual(Array.from({ length: 3_000 }, (_, i) => i))
    for (const record of written) expect(record.key).toBe(`store-${(JSON.parse(record.value!) as Order).id % 23}`)
  })

  it('starts from the committed offsets: a second run reads only what came after', async () => {
    const input = uniqueTopic('resume')
    const output = uniqueTopic('resume-out')
    await createTopic(input, 3)
    await createTopic(output, 3)
    const groupId = uniqueTopic('group')
    await produceOrders(input, 500)
    await runJob({ input, output, groupId, expected: 500 })
    await produceOrders(input, 200, 'none', 500)
    const second = await runJob({ input, output, groupId, expected: 200 })
    // Nothing but the new records within a quiet moment after them.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(second.consumer.stats.consumed).toBe(200)
    expect(await committedTotal(groupId, input)).toBe(700)
    expect(new Set((await readTopic(output)).map((r) => (JSON.parse(r.value!) as Order).id)).size).toBe(700)
  })

  it('commits an input with no outputs (filtered) and one with several, only once all are delivered', async () => {
    const input = uniqueTopic('fanout')
    const output = uniqueTopic('fanout-out')
    await createTopic(input, 2)
    await createTopic(output, 2)
    await produceOrders(input, 300)
    const groupId = uniqueTopic('group')
    const consumer = new KafkaConsumer(transport, { groupId, topics: [input], autoOffsetReset: 'earliest' })
    const sink = new KafkaSink<ConsumedRecord<Order>>(transport)
    const done = lastValueFrom(
      fromKafka(consumer, { value: json<Order>(), sink }).pipe(
        // qty 0: no output; otherwise one output per unit of qty.
        serializeFrom(output, json(), (order) => many(Array.from({ length: order.value.qty }, (_, unit) => ({ id: order.value.id, unit })))),
        partition(sink),
        batch(),
        toKafka(sink),
        commitOffsets(consumer),
        toArray(),
      ),
    )
    while (consumer.stats.consumed < 300) await new Promise((resolve) => setTimeout(resolve, 50))
    await sink.close()
    const reports = await done
    const expectedOutputs = Array.from({ length: 300 }, (_, i) => i % 7).reduce((a, b) => a + b, 0)
    expect(reports).toHaveLength(expectedOutputs)
    expect((await readTopic(output)).length).toBe(expectedOutputs)
    expect(await committedTotal(groupId, input)).toBe(300)
  })

  it('shares the partitions of a topic between two members of one group', async () => {
    const input = uniqueTopic('shared')
    await createTopic(input, 6)
    await produceOrders(input, 2_000)
    const groupId = uniqueTopic('group')
    const members = [0, 1].map(() => new KafkaConsumer(transport, { groupId, topics: [input], autoOffsetReset: 'earliest', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 }))
    const seen = members.map(() => new Set<string>())
    const subscriptions = members.map((consumer, i) => fromKafka(consumer).subscribe((record) => seen[i]!.add(`${record.partition}:${record.offset}`)))
    const deadline = Date.now() + 60_000
    while (seen[0]!.size + seen[1]!.size < 2_000 || members.some((m) => m.assignment.length === 0)) {
      if (Date.now() > deadline) throw new Error(`consumed ${seen[0]!.size} + ${seen[1]!.size}, assignments ${members.map((m) => m.assignment.length)}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(members.map((m) => m.assignment.length).sort()).toEqual([3, 3])
    for (const subscription of subscriptions) subscription.unsubscribe()
    await Promise.all(members.map((m) => m.close()))
    const all = new Set([...seen[0]!, ...seen[1]!])
    expect(all.size).toBe(2_000)
  })

  it('rejects bad options with a typed error naming the option', () => {
    expect(() => new KafkaConsumer(transport, { groupId: '', topics: ['x'] })).toThrow(/KafkaConsumer.groupId/)
    expect(() => new KafkaConsumer(transport, { groupId: 'g', topics: [] })).toThrow(/KafkaConsumer.topics/)
    expect(() => new KafkaConsumer(transport, { groupId: 'g', topics: ['x'], sessionTimeoutMs: 1000, heartbeatIntervalMs: 2000 })).toThrow(/heartbeatIntervalMs/)
    expect(() => firstValueFrom(fromKafka({} as KafkaConsumer))).toThrow(/fromKafka.consumer/)
  })
})
