import { describe, expect, it } from 'vitest'
import {
  batch,
  compress,
  DeliveryFailedError,
  fromAsyncIterable,
  json,
  KafkaSink,
  partition,
  serialize,
  toKafka,
  TopicflowError,
  type Codec,
  type DeliveryReport,
  type OutgoingRecord,
  type Partitioner,
  type ProduceRequest,
  type Transport,
} from '@topicflow/core'
import { brokers, createTopic, makeTransport, readTopic, TRANSPORT_NAMES, uniqueTopic } from './support.js'

// Whatever stage fails, every event the sink pulled is delivered or named in the error that ends the
// stream: delivered + named == pulled, each once, and the topic holds exactly the delivered.
const EVENTS = 20_000

interface Ledger {
  pulled: number
  delivered: number[]
  named: number[]
  error: unknown
}

async function pullThrough(
  transport: Transport,
  topic: string,
  stages: { partitioner?: Partitioner; codec?: (batch: { records: readonly OutgoingRecord<unknown>[] }) => Codec },
): Promise<Ledger> {
  let pulled = 0
  function* events() {
    for (let seq = 0; seq < EVENTS; seq++) {
      pulled++
      yield { seq }
    }
  }
  const sink = new KafkaSink<{ seq: number }>(transport, { pullAheadBytes: 64 * 1024 })
  const reports: DeliveryReport<{ seq: number }>[] = []
  const error = await new Promise<unknown>((resolve) =>
    fromAsyncIterable(events(), sink)
      .pipe(
        serialize(topic, json<{ seq: number }>()),
        partition(sink, stages.partitioner === undefined ? {} : { partitioner: stages.partitioner }),
        batch({ lingerMs: 1000, maxRecords: 200 }),
        compress(stages.codec ?? 'lz4'),
        toKafka(sink),
      )
      .subscribe({ next: (r) => reports.push(r), error: resolve, complete: () => resolve(undefined) }),
  )
  await transport.close()
  return {
    pulled,
    delivered: reports.filter((r) => r.status === 'delivered').map((r) => r.source.seq),
    named: error instanceof TopicflowError ? error.sources.map((s) => (s as { seq: number }).seq) : [],
    error,
  }
}

async function expectBalanced(topic: string, ledger: Ledger): Promise<void> {
  expect(ledger.error).toBeInstanceOf(Error)
  expect(ledger.pulled).toBeGreaterThan(0)
  expect(ledger.delivered.length + ledger.named.length, 'delivered + named == pulled').toBe(ledger.pulled)
  expect(new Set([...ledger.delivered, ...ledger.named]).size, 'an event counted twice').toBe(ledger.pulled)
  const landed = (await readTopic(topic)).map((r) => (JSON.parse(r.value!) as { seq: number }).seq)
  expect([...landed].sort((a, b) => a - b)).toEqual([...ledger.delivered].sort((a, b) => a - b))
}

describe.each(TRANSPORT_NAMES)('the ledger when a stage fails, on the %s transport (real broker)', (name) => {
  it('a codec function that throws on the 20th batch', async () => {
    const topic = uniqueTopic(`ledger-codec-${name}`)
    await createTopic(topic, 3)
    let batches = 0
    const ledger = await pullThrough(makeTransport(name, { brokers: brokers().split(',') }), topic, {
      codec: () => {
        if (++batches === 20) throw new Error('codec chooser broke')
        return 'lz4'
      },
    })
    expect(ledger.error).toBeInstanceOf(DeliveryFailedError)
    expect((ledger.error as DeliveryFailedError).failed).toHaveLength(200)
    expect(ledger.pulled).toBeLessThan(EVENTS)
    await expectBalanced(topic, ledger)
  })

  it('a partitioner that throws on event 5,000', async () => {
    const topic = uniqueTopic(`ledger-partitioner-${name}`)
    await createTopic(topic, 3)
    const ledger = await pullThrough(makeTransport(name, { brokers: brokers().split(',') }), topic, {
      partitioner: (record, count) => {
        const { seq } = record.source as { seq: number }
        if (seq === 5000) throw new Error('partitioner broke')
        return seq % count
      },
    })
    expect((ledger.error as Error).message).toBe('partitioner broke')
    expect(ledger.named).toContain(5000)
    await expectBalanced(topic, ledger)
  })

  it('a transport bug: a session whose send throws a TypeError for one partition', async () => {
    const topic = uniqueTopic(`ledger-transport-${name}`)
    await createTopic(topic, 3)
    const real = makeTransport(name, { brokers: brokers().split(',') })
    const buggy: Transport = {
      brokers: real.brokers,
      maxRequestBytes: real.maxRequestBytes,
      partitionCount: (t, options) => real.partitionCount(t, options),
      close: () => real.close(),
      openProducer: async (options) => {
        const session = await real.openProducer(options)
        return {
          send: (request: ProduceRequest) => {
            if (request.partition === 2) throw new TypeError("Cannot read properties of undefined (reading 'length')")
            return session.send(request)
          },
          close: () => session.close(),
        }
      },
    }
    const ledger = await pullThrough(buggy, topic, {})
    expect(ledger.error).toBeInstanceOf(DeliveryFailedError)
    expect((ledger.error as DeliveryFailedError).failure.message).toContain('reading')
    await expectBalanced(topic, ledger)
  })
})
