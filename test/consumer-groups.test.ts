import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lastValueFrom, map, range, toArray } from 'rxjs'
import kafkajs from 'kafkajs'
import {
  batch,
  commitOffsets,
  DEAD_LETTER_HEADERS,
  deadLetterQueue,
  fromKafka,
  json,
  KafkaConsumer,
  KafkaSink,
  key,
  partition,
  serialize,
  serializeFrom,
  toKafka,
  type ConsumedRecord,
  type Transport,
  type ConsumerTransport,
} from '@topicflow/core'
import { createTopicsAndWait } from '@topicflow/kafkajs'
import type { KafkaCluster } from '@topicflow/testkit'
import { wireTransport } from '@topicflow/wire'
import { brokers, createTopic, readTopic, startOwnCluster, uniqueTopic } from './support.js'

interface Order {
  id: number
  store: string
}

const transport = wireTransport({ brokers: brokers().split(','), clientId: 'consumer-groups-test' })
afterAll(() => transport.close())

async function produce(target: Transport, topic: string, count: number, value: (id: number) => Buffer | string = (id) => JSON.stringify({ id, store: `s${id % 17}` })): Promise<void> {
  const reports = await lastValueFrom(
    range(0, count).pipe(
      map((id) => ({ id, text: value(id) })),
      serialize(topic, (event: { id: number; text: Buffer | string }) => (typeof event.text === 'string' ? Buffer.from(event.text) : event.text)),
      key((event) => `s${event.id % 17}`),
      partition(target),
      batch(),
      toKafka(target),
      toArray(),
    ),
  )
  expect(reports.every((r) => r.status === 'delivered')).toBe(true)
}

async function committedOffsets(bootstrap: string, groupId: string, topic: string): Promise<Map<number, number>> {
  const admin = new kafkajs.Kafka({ brokers: bootstrap.split(','), logLevel: kafkajs.logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return new Map((offsets?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]))
  } finally {
    await admin.disconnect()
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs the copy job (one output per input, the input's place in the value) on `consumer` until stopped. */
function copyJob(target: Transport & ConsumerTransport, consumer: KafkaConsumer, output: string, onOutput?: (input: ConsumedRecord<Order>) => void) {
  const sink = new KafkaSink<ConsumedRecord<Order>>(target)
  const done = lastValueFrom(
    fromKafka(consumer, { value: json<Order>(), sink }).pipe(
      serializeFrom(output, json(), (input) => {
        onOutput?.(input)
        return { id: input.value.id, from: `${input.partition}:${input.offset}` }
      }),
      partition(sink),
      batch(),
      toKafka(sink),
      commitOffsets(consumer),
      toArray(),
    ),
  )
  return { sink, done }
}

describe('consumer groups on a real broker (wire transport)', () => {
  it('a rebalance while records are in flight commits only what was delivered, and nothing after the revocation', async () => {
    const input = uniqueTopic('rebalance-in')
    const output = uniqueTopic('rebalance-out')
    await createTopic(input, 6)
    await createTopic(output, 6)
    await produce(transport, input, 20_000)
    const groupId = uniqueTopic('group')
    // No periodic commits: the first member's commits are the ones its revocation makes.
    const options = { groupId, topics: [input], autoOffsetReset: 'earliest' as const, commitIntervalMs: 0, commitBatchRecords: 1e9, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 300 }
    const first = new KafkaConsumer(transport, options)
    const firstJob = copyJob(transport, first, output)
    while (first.stats.consumed < 2_000) await sleep(5)
    // The second member joins with records of the first in flight.
    const second = new KafkaConsumer(transport, options)
    const secondJob = copyJob(transport, second, output)
    while (first.stats.revocations === 0) await sleep(5)
    const atRevocation = await committedOffsets(brokers(), groupId, input)
    while (first.stats.consumed + second.stats.consumed < 20_000 || second.assignment.length === 0) await sleep(20)
    await Promise.all([firstJob.sink.close(), secondJob.sink.close()])
    await Promise.all([firstJob.done, secondJob.done])

    // What the first member had committed at its revocation was delivered: every input below each committed offset is in the output.
    const written = await readTopic(output)
    const delivered = new Set(written.map((r) => (JSON.parse(r.value!) as { from: string }).from))
    for (const [p, offset] of atRevocation) for (let o = 0; o < offset; o++) expect(delivered.has(`${p}:${o}`)).toBe(true)
    expect([...atRevocation.values()].some((offset) => offset > 0)).toBe(true)
    // Nothing lost overall, and the group's commits reach the end.
    expect(new Set(written.map((r) => (JSON.parse(r.value!) as { id: number }).id)).size).toBe(20_000)
    const final = await committedOffsets(brokers(), groupId, input)
    expect([...final.values()].reduce((a, b) => a + b, 0)).toBe(20_000)
  })

  it('routes records that are not JSON to dead letters with the input topic, partition and offset; the partition goes on', async () => {
    const input = uniqueTopic('bad-in')
    const output = uniqueTopic('bad-out')
    const dlqTopic = uniqueTopic('bad-dlq')
    await createTopic(input, 2)
    await createTopic(output, 2)
    await createTopic(dlqTopic, 1)
    await produce(transport, input, 1_000, (id) => (id % 100 === 7 ? `not json ${id}` : JSON.stringify({ id, store: `s${id % 17}` })))
    const groupId = uniqueTopic('group')
    const consumer = new KafkaConsumer(transport, { groupId, topics: [input], autoOffsetReset: 'earliest' })
    const sink = new KafkaSink<ConsumedRecord<Order>>(transport)
    const dlq = deadLetterQueue<ConsumedRecord<Order>>(transport, { topic: dlqTopic })
    const done = lastValueFrom(
      fromKafka(consumer, { value: json<Order>(), sink, onError: dlq.deserializationError }).pipe(
        serializeFrom(output, json(), (order) => order.value),
        partition(sink),
        batch(),
        toKafka(sink),
        commitOffsets(consumer),
        toArray(),
      ),
    )
    while (consumer.stats.consumed + dlq.stats.deadLettered < 1_000) await sleep(20)
    await sink.close()
    await done
    await dlq.close()
    expect((await readTopic(output)).length).toBe(990)
    const letters = await readTopic(dlqTopic)
    expect(letters).toHaveLength(10)
    for (const letter of letters) {
      const id = Number(/not json (\d+)/.exec(letter.value!)?.[1])
      expect(id % 100).toBe(7)
      expect(letter.headers[DEAD_LETTER_HEADERS.topic]).toBe(input)
      expect(letter.headers[DEAD_LETTER_HEADERS.stage]).toBe('deserialize')
      expect(letter.headers[DEAD_LETTER_HEADERS.exceptionClass]).toBe('DeserializationError')
      expect(Number(letter.headers[DEAD_LETTER_HEADERS.offset])).toBeGreaterThanOrEqual(0)
      expect(['0', '1']).toContain(letter.headers[DEAD_LETTER_HEADERS.partition])
    }
    // The dead-lettered inputs were committed too: nothing stalled.
    expect([...(await committedOffsets(brokers(), groupId, input)).values()].reduce((a, b) => a + b, 0)).toBe(1_000)
  })

  it('cooperative-sticky: a member joining takes partitions only from those that must give some up; the others keep theirs', async () => {
    const input = uniqueTopic('coop-in')
    await createTopic(input, 6)
    await produce(transport, input, 3_000)
    const groupId = uniqueTopic('group')
    const options = { groupId, topics: [input], autoOffsetReset: 'earliest' as const, assignors: ['cooperative-sticky' as const], sessionTimeoutMs: 10_000, heartbeatIntervalMs: 300 }
    const members = [new KafkaConsumer(transport, options), new KafkaConsumer(transport, options)]
    const seen = new Set<string>()
    const subscriptions = members.map((m) => fromKafka(m).subscribe((r) => seen.add(`${r.partition}:${r.offset}`)))
    while (members.some((m) => m.assignment.length !== 3)) await sleep(50)
    const before = members.map((m) => new Set(m.assignment.map((p) => p.partition)))
    const third = new KafkaConsumer(transport, options)
    subscriptions.push(fromKafka(third).subscribe((r) => seen.add(`${r.partition}:${r.offset}`)))
    const deadline = Date.now() + 60_000
    while ([...members, third].some((m) => m.assignment.length !== 2)) {
      if (Date.now() > deadline) throw new Error(`assignments ${[...members, third].map((m) => m.assignment.length)}`)
      await sleep(50)
    }
    // Each first member kept two of its three partitions: sticky, and only the moving one was revoked.
    members.forEach((m, i) => {
      for (const { partition: p } of m.assignment) expect(before[i]!.has(p)).toBe(true)
    })
    while (seen.size < 3_000) await sleep(50)
    for (const subscription of subscriptions) subscription.unsubscribe()
    await Promise.all([...members, third].map((m) => m.close()))
    expect(seen.size).toBe(3_000)
  })

  it('a static member (group.instance.id) that restarts within the session timeout gets its partitions back with no rebalance', async () => {
    const input = uniqueTopic('static-in')
    await createTopic(input, 4)
    await produce(transport, input, 100)
    const groupId = uniqueTopic('group')
    const options = { groupId, topics: [input], autoOffsetReset: 'earliest' as const, sessionTimeoutMs: 30_000, heartbeatIntervalMs: 500 }
    const a = new KafkaConsumer(transport, { ...options, groupInstanceId: 'a' })
    const b = new KafkaConsumer(transport, { ...options, groupInstanceId: 'b' })
    const subscriptions = [a, b].map((c) => fromKafka(c).subscribe())
    while (a.assignment.length + b.assignment.length < 4 || a.assignment.length === 0 || b.assignment.length === 0) await sleep(50)
    const before = b.assignment.map((p) => p.partition).sort()
    // b stops without leaving (static members do not send LeaveGroup) and comes back under the same id.
    subscriptions[1]!.unsubscribe()
    await b.close()
    const b2 = new KafkaConsumer(transport, { ...options, groupInstanceId: 'b' })
    const again = fromKafka(b2).subscribe()
    while (b2.assignment.length === 0) await sleep(50)
    expect(b2.assignment.map((p) => p.partition).sort()).toEqual(before)
    // a was never asked to give anything up.
    expect(a.stats.revocations).toBe(0)
    subscriptions[0]!.unsubscribe()
    again.unsubscribe()
    await Promise.all([a.close(), b2.close()])
  })

  it('fences a second static member with the same group.instance.id with a typed error', async () => {
    const input = uniqueTopic('fenced-in')
    await createTopic(input, 1)
    const groupId = uniqueTopic('group')
    const options = { groupId, topics: [input], autoOffsetReset: 'earliest' as const, groupInstanceId: 'same', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 300 }
    const first = new KafkaConsumer(transport, options)
    const errors: unknown[] = []
    const running = fromKafka(first).subscribe({ error: (e) => errors.push(e) })
    while (first.assignment.length === 0) await sleep(50)
    const second = new KafkaConsumer(transport, options)
    const secondRun = fromKafka(second).subscribe({ error: (e) => errors.push(e) })
    const deadline = Date.now() + 30_000
    while (errors.length === 0 && Date.now() < deadline) await sleep(50)
    running.unsubscribe()
    secondRun.unsubscribe()
    await Promise.all([first.close(), second.close()])
    expect(errors.length).toBeGreaterThan(0)
    expect(String((errors[0] as Error).message)).toMatch(/FENCED_INSTANCE_ID/)
  })
})

describe('a leader killed on the 3-broker cluster while consuming', () => {
  let cluster: KafkaCluster | undefined
  beforeAll(async () => {
    cluster = await startOwnCluster({ brokers: 3 })
  }, 300_000)
  afterAll(async () => cluster?.stop())

  it('the source goes on through the new leaders and nothing is lost', async () => {
    const bootstrap = cluster!.bootstrapServers
    const own = wireTransport({ brokers: bootstrap.split(','), connectionTimeout: 1_000, requestTimeout: 5_000 })
    const admin = new kafkajs.Kafka({ brokers: bootstrap.split(','), logLevel: kafkajs.logLevel.NOTHING }).admin()
    await admin.connect()
    try {
      const input = uniqueTopic('failover-in')
      const output = uniqueTopic('failover-out')
      await createTopicsAndWait(admin, { topics: [{ topic: input, numPartitions: 6, replicationFactor: 3 }, { topic: output, numPartitions: 6, replicationFactor: 3 }] })
      await produce(own, input, 100_000)
      const groupId = uniqueTopic('group')
      const consumer = new KafkaConsumer(own, { groupId, topics: [input], autoOffsetReset: 'earliest', requestTimeoutMs: 5_000 })
      const job = copyJob(own, consumer, output)
      while (consumer.stats.consumed < 20_000) await sleep(10)
      const metadata = await admin.fetchTopicMetadata({ topics: [input] })
      const leaderId = metadata.topics[0]!.partitions[0]!.leader
      const victim = cluster!.brokers.findIndex((b) => b.id === leaderId)
      await cluster!.killBroker(victim)
      const consumedAtKill = consumer.stats.consumed
      const deadline = Date.now() + 120_000
      while (consumer.stats.consumed < 100_000) {
        if (Date.now() > deadline) throw new Error(`stuck at ${consumer.stats.consumed} (killed at ${consumedAtKill})`)
        await sleep(50)
      }
      await job.sink.close()
      await job.done
      await cluster!.startBroker(victim)
      const ids = new Set<number>()
      const admin2 = new kafkajs.Kafka({ brokers: bootstrap.split(','), logLevel: kafkajs.logLevel.NOTHING })
      const reader = admin2.consumer({ groupId: uniqueTopic('reader') })
      await reader.connect()
      await reader.subscribe({ topic: output, fromBeginning: true })
      await new Promise<void>((resolve) => {
        void reader.run({
          eachMessage: async ({ message }) => {
            ids.add((JSON.parse(message.value!.toString()) as { id: number }).id)
            if (ids.size === 100_000) resolve()
          },
        })
      })
      await reader.disconnect()
      expect(ids.size).toBe(100_000)
      expect(consumedAtKill).toBeLessThan(100_000)
    } finally {
      await admin.disconnect()
      await own.close()
    }
  }, 240_000)
})

