import { afterAll, describe, expect, it } from 'vitest'
import { firstValueFrom, from, toArray } from 'rxjs'
import {
  batch,
  compress,
  createSender,
  DeliveryFailedError,
  fromAsyncIterable,
  json,
  KafkaConnectionError,
  KafkaSink,
  key,
  partition,
  partitionForKey,
  RecordTooLargeError,
  retry,
  serialize,
  toKafka,
  UnknownTopicError,
  type Codec,
  type DeliveryReport,
  type Failed,
} from '@topicflow/core'
import { brokers, createTopic, dumpLogSegments, makeTransport, readTopic, TRANSPORT_NAMES, uniqueTopic } from './support.js'

interface Order {
  seq: number
  store: string
  total: number
  note?: string
}

const orders = (n: number): Order[] => Array.from({ length: n }, (_, seq) => ({ seq, store: `store-${seq % 37}`, total: seq * 3 }))
const delivered = (reports: DeliveryReport<Order>[]) => reports.filter((r) => r.status === 'delivered')

describe.each(TRANSPORT_NAMES)('the operator chain against a real broker (%s transport)', (transportName) => {
  const transport = makeTransport(transportName, { brokers: brokers().split(',') })
  afterAll(() => transport.close())

  it('lands every record exactly once with its key, value, headers and murmur2 partition, in order per partition', async () => {
    const topic = uniqueTopic('orders')
    await createTopic(topic, 6)
    const input = orders(5_000)
    const reports = await firstValueFrom(
      from(input).pipe(
        serialize(topic, json<Order>(), { headers: (o) => ({ 'x-seq': String(o.seq), origin: 'topicflow-test' }) }),
        key((o) => o.store),
        partition(transport),
        batch({ lingerMs: 5, maxBytes: 64 * 1024 }),
        compress('none'),
        retry(),
        toKafka(transport, { acks: 'all' }),
        toArray(),
      ),
    )
    expect(delivered(reports)).toHaveLength(5_000)

    const landed = await readTopic(topic)
    expect(landed).toHaveLength(5_000)
    const bySeq = new Map(landed.map((r) => [Number(r.headers['x-seq']), r]))
    expect(bySeq.size).toBe(5_000)
    for (const order of input) {
      const record = bySeq.get(order.seq)!
      expect(JSON.parse(record.value!)).toEqual(order)
      expect(record.key).toBe(order.store)
      expect(record.headers.origin).toBe('topicflow-test')
      expect(record.partition).toBe(partitionForKey(Buffer.from(order.store), 6))
    }
    // Reports agree with what landed: same partition and offset for each event.
    for (const report of delivered(reports)) {
      const record = bySeq.get(report.source.seq)!
      expect([report.partition, report.offset]).toEqual([record.partition, record.offset])
    }
    // Per partition, offsets follow the order events were emitted.
    for (let p = 0; p < 6; p++) {
      const seqs = landed.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset).map((r) => Number(r.headers['x-seq']))
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    }
    // Idempotence is on by default with acks=all: the broker recorded a producer id on every batch.
    const batches = await dumpLogSegments(topic, 0)
    expect(batches.length).toBeGreaterThan(0)
    expect(batches.every((b) => b.producerId >= 0)).toBe(true)
  })

  it.each<Codec>(['gzip', 'snappy', 'lz4', 'zstd'])('round-trips %s through the broker, visible in the log segment', async (codec) => {
    const topic = uniqueTopic(`codec-${codec}`)
    await createTopic(topic, 2)
    const input = orders(3_000).map((o) => ({ ...o, note: 'pizza '.repeat(o.seq % 20) }))
    const reports = await firstValueFrom(
      from(input).pipe(serialize(topic, json<Order>()), key((o) => o.store), partition(transport), batch({ lingerMs: 5, maxBytes: 256 * 1024 }), compress(codec), toKafka(transport), toArray()),
    )
    expect(delivered(reports)).toHaveLength(3_000)
    const landed = await readTopic(topic)
    expect(landed.map((r) => JSON.parse(r.value!) as Order).sort((a, b) => a.seq - b.seq)).toEqual(input)
    const segments = [...(await dumpLogSegments(topic, 0)), ...(await dumpLogSegments(topic, 1))]
    expect(new Set(segments.map((b) => b.codec.toLowerCase()))).toEqual(new Set([codec]))
    expect(segments.some((b) => b.count > 1)).toBe(true)
  })

  it('flushes a lingering batch on completion instead of waiting out the linger', async () => {
    const topic = uniqueTopic('linger')
    await createTopic(topic, 1)
    const started = Date.now()
    const reports = await firstValueFrom(
      from(orders(10)).pipe(serialize(topic, json<Order>()), partition(transport), batch({ lingerMs: 60_000 }), toKafka(transport), toArray()),
    )
    expect(Date.now() - started).toBeLessThan(30_000)
    expect(delivered(reports)).toHaveLength(10)
    expect(await readTopic(topic)).toHaveLength(10)
  })

  it.each([0, 1, 'all'] as const)('produces with acks=%s', async (acks) => {
    const topic = uniqueTopic(`acks-${acks}`)
    await createTopic(topic, 3)
    const reports = await firstValueFrom(
      from(orders(500)).pipe(serialize(topic, json<Order>()), key((o) => o.store), partition(transport), batch(), toKafka(transport, { acks }), toArray()),
    )
    expect(delivered(reports)).toHaveLength(500)
    if (acks === 0) expect(reports.every((r) => r.status === 'delivered' && r.offset === -1)).toBe(true)
    else expect(reports.every((r) => r.status === 'delivered' && r.offset >= 0)).toBe(true)
    // acks=0 gets no answer: poll until the broker has written them all.
    let landed = await readTopic(topic)
    for (let i = 0; landed.length < 500 && i < 20; i++) landed = await readTopic(topic)
    expect(landed).toHaveLength(500)
  })

  it('fails a record over the broker max.message.bytes with an error naming it, while the others land', async () => {
    const topic = uniqueTopic('too-large')
    await createTopic(topic, 1, { 'max.message.bytes': '20000' })
    const input = orders(50)
    input[25] = { ...input[25]!, note: 'x'.repeat(50_000) }
    const reports = await firstValueFrom(
      from(input).pipe(serialize(topic, json<Order>()), partition(transport), batch({ lingerMs: 50 }), retry({ deliveryTimeoutMs: 20_000 }), toKafka(transport, { onError: 'report' }), toArray()),
    )
    const failed = reports.filter((r): r is Failed<Order> => r.status === 'failed')
    expect(failed.map((r) => r.source.seq)).toEqual([25])
    expect(failed[0]!.error).toBeInstanceOf(RecordTooLargeError)
    expect(failed[0]!.error.message).toContain('"seq":25')
    const landed = await readTopic(topic)
    expect(landed.map((r) => (JSON.parse(r.value!) as Order).seq)).toEqual(input.map((o) => o.seq).filter((s) => s !== 25))
  })

  it("fails the stream with the same error under onError 'fail', carrying the event", async () => {
    const topic = uniqueTopic('too-large-fail')
    await createTopic(topic, 1, { 'max.message.bytes': '20000' })
    const error = await firstValueFrom(
      from([{ seq: 1, store: 's', total: 0, note: 'y'.repeat(30_000) }]).pipe(serialize(topic, json<Order>()), partition(transport), batch(), toKafka(transport)),
    ).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DeliveryFailedError)
    expect((error as DeliveryFailedError).failure).toBeInstanceOf(RecordTooLargeError)
    expect(((error as DeliveryFailedError).failed[0] as Order).seq).toBe(1)
  })

  it('fails with a clear error naming the address when the broker is unreachable, within the configured bound', async () => {
    const unreachable = makeTransport(transportName, { brokers: ['127.0.0.1:1'], connectionTimeout: 500 })
    const sink = new KafkaSink<Order>(unreachable, { maxBlockMs: 3_000 })
    const started = Date.now()
    const error = await firstValueFrom(
      from(orders(3)).pipe(serialize('nowhere', json<Order>()), partition(sink), batch(), toKafka(sink)),
    ).catch((e: unknown) => e)
    const elapsed = Date.now() - started
    await unreachable.close()
    expect(error).toBeInstanceOf(KafkaConnectionError)
    expect((error as Error).message).toContain('127.0.0.1:1')
    expect((error as KafkaConnectionError).sources).toHaveLength(3)
    expect(elapsed).toBeLessThan(6_000)
  })

  it('fails with UnknownTopicError, within maxBlockMs, for a topic that does not exist', async () => {
    const sink = new KafkaSink<Order>(transport, { maxBlockMs: 2_000 })
    const started = Date.now()
    const error = await firstValueFrom(
      // max.block.ms is the sink's: partition(sink) waits its maxBlockMs.
      from(orders(2)).pipe(serialize(uniqueTopic('missing'), json<Order>()), partition(sink), batch(), toKafka(sink)),
    ).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UnknownTopicError)
    // The suite's broker has auto-creation off: the message says how long it waited and why the topic is still missing.
    expect((error as Error).message).toMatch(/not present in metadata after 2000 ms \(max\.block\.ms\); the broker did not create it \(its auto\.create\.topics\.enable is off\)/)
    expect((error as UnknownTopicError).sources).toHaveLength(2)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('reads a pull source only while the sink has room and lands all of it', async () => {
    const topic = uniqueTopic('pull')
    await createTopic(topic, 3)
    const sink = new KafkaSink<Order>(transport, { maxBufferedBytes: 64 * 1024 })
    let peak = 0
    async function* generate() {
      for (let seq = 0; seq < 20_000; seq++) {
        peak = Math.max(peak, sink.bufferedBytes)
        yield { seq, store: `store-${seq % 11}`, total: seq }
      }
    }
    const reports = await firstValueFrom(
      fromAsyncIterable(generate(), sink).pipe(serialize(topic, json<Order>()), key((o) => o.store), partition(sink), batch({ maxBytes: 16 * 1024 }), toKafka(sink), toArray()),
    )
    expect(delivered(reports)).toHaveLength(20_000)
    expect(peak).toBeLessThanOrEqual(64 * 1024 + 3 * 16 * 1024)
    expect(await readTopic(topic)).toHaveLength(20_000)
  })

  it('sends one event at a time through the same chain with the promise API', async () => {
    const topic = uniqueTopic('sync')
    await createTopic(topic, 2)
    const sender = createSender<Order>((events) =>
      events.pipe(serialize(topic, json<Order>()), key((o) => o.store), partition(transport), batch({ lingerMs: 0 }), toKafka(transport, { onError: 'report' })),
    )
    const first = await sender.send({ seq: 1, store: 'a', total: 1 })
    expect(first.partition).toBe(partitionForKey(Buffer.from('a'), 2))
    const more = await sender.sendAll(orders(20))
    expect(more).toHaveLength(20)
    await sender.close()
    const landed = await readTopic(topic)
    expect(landed).toHaveLength(21)
    const record = landed.find((r) => r.partition === first.partition && r.offset === first.offset)!
    expect(JSON.parse(record.value!)).toEqual({ seq: 1, store: 'a', total: 1 })
  })
})
