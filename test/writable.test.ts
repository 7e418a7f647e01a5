import { afterAll, describe, expect, it } from 'vitest'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import kafkajs from 'kafkajs'
import { batch, DeliveryFailedError, KafkaSink, partition, RecordTooLargeError, serialize, string, toWritable, UnknownTopicError } from '@topicflow/core'
import { wireTransport } from '@topicflow/wire'
import { brokers, createTopic, uniqueTopic } from './support.js'

const LINES = 5_000_000
// Held in memory, 5,000,000 lines would cost well over a gigabyte: each as a string (~70 B), its record
// object and value Buffer (~250 B), its report (~100 B). A bounded run holds the sink's pullAheadBytes
// (4 MiB of ~71-byte records: ~60,000 of them with their objects), a few stream buffers, and what V8 lets
// the heap grow to before collecting: measured on Node 20, +185 MB at 1,000,000 lines and +191 MB at
// 5,000,000, the same whatever the input size. 300 MB leaves room for another Node's heap sizing and
// stays far below the whole input held.
const RSS_GROWTH_BOUND = 300 * 1024 * 1024

/** Text of `lines` numbered lines, made a chunk at a time as the stream is read: never held whole. */
function text(lines: number, line: (i: number) => string = (i) => `line ${i} of the input, padded to look like a log`): Readable {
  let next = 0
  return new Readable({
    read() {
      if (next === lines) return void this.push(null)
      const end = Math.min(lines, next + 1_000)
      let chunk = ''
      for (; next < end; next++) chunk += `${line(next)}\n`
      this.push(chunk)
    },
  })
}

/** Bytes in, one string per line out (object mode). */
function splitLines(): Transform {
  let rest = ''
  return new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _encoding, done) {
      const lines = (rest + chunk.toString('utf8')).split('\n')
      rest = lines.pop() ?? ''
      for (const line of lines) this.push(line)
      done()
    },
    flush(done) {
      if (rest !== '') this.push(rest)
      done()
    },
  })
}

async function endOffsetsSum(topic: string): Promise<number> {
  const admin = new kafkajs.Kafka({ brokers: brokers().split(','), clientId: 'topicflow-test-offsets', logLevel: kafkajs.logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0)
  } finally {
    await admin.disconnect()
  }
}

describe('toWritable: stream.pipeline into Kafka (real broker, wire transport)', () => {
  const transport = wireTransport({ brokers: brokers().split(','), allowAutoTopicCreation: false })
  afterAll(() => transport.close())

  it(
    `produces ${LINES.toLocaleString('en')} lines with backpressure, bounded memory, and every one acknowledged`,
    async () => {
      const topic = uniqueTopic('writable-lines')
      await createTopic(topic, 6)
      const sink = new KafkaSink<string>(transport, { acks: 'all' })
      let reported = 0
      const kafka = toWritable(sink, (lines) => lines.pipe(serialize<string>(topic, string()), partition(sink), batch({ maxBytes: 64 * 1024 })), {
        onReport: (report) => void (report.status === 'delivered' && reported++),
      })
      // Node emits 'drain' only after a write() returned false.
      let drains = 0
      kafka.on('drain', () => drains++)
      const startRss = process.memoryUsage().rss
      let peakRss = startRss
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20)
      const started = Date.now()
      try {
        await pipeline(text(LINES), splitLines(), kafka)
      } finally {
        clearInterval(sampler)
      }
      peakRss = Math.max(peakRss, process.memoryUsage().rss)
      console.log(
        `toWritable: ${LINES} lines in ${Date.now() - started} ms; RSS ${(startRss / 2 ** 20).toFixed(0)} MB at the start, ` +
          `peak ${(peakRss / 2 ** 20).toFixed(0)} MB (+${((peakRss - startRss) / 2 ** 20).toFixed(0)} MB); ${drains} drains, ${kafka.counts.roomWaits} waits for room`,
      )
      expect(drains).toBeGreaterThan(0)
      expect(kafka.counts.roomWaits).toBeGreaterThan(0)
      expect(peakRss - startRss).toBeLessThan(RSS_GROWTH_BOUND)
      expect(kafka.counts).toMatchObject({ written: LINES, delivered: LINES, failed: 0 })
      expect(reported).toBe(LINES)
      expect(await endOffsetsSum(topic)).toBe(LINES)
    },
    600_000,
  )

  it('a topic that does not exist fails the pipeline with UnknownTopicError, and the input is destroyed', async () => {
    const sink = new KafkaSink<string>(transport, { maxBlockMs: 2_000 })
    const input = text(LINES)
    const error = await pipeline(input, splitLines(), toWritable(sink, (lines) => lines.pipe(serialize<string>(uniqueTopic('missing'), string()), partition(sink), batch()))).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(UnknownTopicError)
    expect((error as UnknownTopicError).sources.length).toBeGreaterThan(0)
    expect(input.destroyed).toBe(true)
  })

  it('a record over the broker max.message.bytes fails the pipeline with DeliveryFailedError naming it', async () => {
    const topic = uniqueTopic('writable-too-large')
    await createTopic(topic, 1, { 'max.message.bytes': '20000' })
    const sink = new KafkaSink<string>(transport)
    const kafka = toWritable(sink, (lines) => lines.pipe(serialize<string>(topic, string()), partition(sink), batch()))
    const input = text(LINES, (i) => (i === 1_000 ? 'x'.repeat(50_000) : `line ${i}`))
    const error = await pipeline(input, splitLines(), kafka).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DeliveryFailedError)
    expect((error as DeliveryFailedError).failure).toBeInstanceOf(RecordTooLargeError)
    expect((error as DeliveryFailedError).failed).toEqual(['x'.repeat(50_000)])
    expect(input.destroyed).toBe(true)
    // It stopped taking at the failure: the ledger of what it took balances against the topic.
    expect(kafka.counts.written).toBeLessThan(LINES)
    expect(kafka.counts.delivered + (error as DeliveryFailedError).sources.length).toBe(kafka.counts.written)
    expect(await endOffsetsSum(topic)).toBe(kafka.counts.delivered)
  })
})
