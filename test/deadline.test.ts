import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Subject } from 'rxjs'
import kafkajs from 'kafkajs'
import { createTopicsAndWait } from '@topicflow/kafkajs'
import { batch, DeliveryTimeoutError, json, KafkaSink, partition, retry, serialize, toKafka, type DeliveryReport } from '@topicflow/core'
import type { KafkaCluster } from '@topicflow/testkit'
import { makeTransport, startOwnCluster, TRANSPORT_NAMES, type TransportName } from './support.js'

// A broker of this file's own (the shared one must stay up): stopped and started again under the producer.
let cluster: KafkaCluster | undefined

beforeAll(async () => {
  cluster = await startOwnCluster({ brokers: 1 })
  const admin = new kafkajs.Kafka({ brokers: cluster.bootstrapServers.split(','), logLevel: kafkajs.logLevel.NOTHING }).admin()
  await admin.connect()
  await createTopicsAndWait(admin, { topics: TRANSPORT_NAMES.flatMap((name) => [`deadline-${name}`, `comeback-${name}`]).map((topic) => ({ topic, numPartitions: 2 })) })
  await admin.disconnect()
}, 240_000)
afterAll(async () => cluster?.stop())

interface Ping {
  seq: number
}

/**
 * A long-lived traced pipeline over one Subject, like a service's: it has the topic's metadata before the
 * broker goes away (a new pipeline would wait max.block.ms for metadata first, as Java's send() does).
 */
function pipeline(topic: string, deliveryTimeoutMs: number, transportName: TransportName) {
  const transport = makeTransport(transportName, { brokers: cluster!.bootstrapServers.split(','), connectionTimeout: 1000 })
  const sink = new KafkaSink<Ping>(transport, { acks: 'all', onError: 'report', requestTimeoutMs: 2000 })
  const events = new Subject<Ping>()
  const reports: Array<DeliveryReport<Ping> & { at: number }> = []
  const done = new Promise<void>((resolve, reject) =>
    events
      .pipe(serialize(topic, json<Ping>()), partition(sink), batch({ lingerMs: 5 }), retry({ deliveryTimeoutMs }), toKafka(sink))
      .subscribe({ next: (r) => reports.push({ ...r, at: Date.now() }), error: reject, complete: resolve }),
  )
  const settledCount = async (count: number): Promise<void> => {
    while (reports.length < count) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return {
    reports,
    send: (from: number, count: number) => {
      for (let seq = from; seq < from + count; seq++) events.next({ seq })
    },
    settledCount,
    end: async () => {
      events.complete()
      await done
      await transport.close()
    },
  }
}

describe.each(TRANSPORT_NAMES)('delivery deadline with the broker down (real broker, stopped and restarted; %s transport)', (transportName) => {
  it('all brokers down past the deadline: every record fails with DeliveryTimeoutError carrying its event, soon after the deadline', async () => {
    const producer = pipeline(`deadline-${transportName}`, 4_000, transportName)
    producer.send(0, 10)
    await producer.settledCount(10)
    await cluster!.stopBroker(0)
    try {
      const started = Date.now()
      producer.send(10, 200)
      await producer.settledCount(210)
      const late = producer.reports.slice(10)
      expect(late.every((r) => r.status === 'failed' && r.error instanceof DeliveryTimeoutError)).toBe(true)
      expect(new Set(late.map((r) => r.source.seq)).size).toBe(200)
      const last = Math.max(...late.map((r) => r.at)) - started
      // The deadline plus a bound (the last backoff and one request timeout at most).
      expect(last).toBeGreaterThanOrEqual(3_000)
      expect(last).toBeLessThan(4_000 + 4_000)
    } finally {
      await cluster!.startBroker(0)
      await producer.end()
    }
  })

  it('the broker back within the deadline: everything lands', async () => {
    const producer = pipeline(`comeback-${transportName}`, 60_000, transportName)
    producer.send(0, 10)
    await producer.settledCount(10)
    await cluster!.stopBroker(0)
    producer.send(10, 500)
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    await cluster!.startBroker(0)
    await producer.settledCount(510)
    await producer.end()
    expect(producer.reports.filter((r) => r.status === 'delivered')).toHaveLength(510)
  })
})
