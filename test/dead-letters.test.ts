import { describe, expect, it } from 'vitest'
import { firstValueFrom, from, toArray } from 'rxjs'
import { batch, DEAD_LETTER_HEADERS, deadLetterQueue, json, key, partition, serialize, toKafka } from '@topicflow/core'
import { kafkajsTransport } from '@topicflow/kafkajs'
import { brokers, createTopic, readTopic, uniqueTopic } from './support.js'

interface Order {
  seq: number
  note?: string
  amount?: bigint
}

describe('dead-letter topic (real broker)', () => {
  it('sets poison records aside with Connect-style headers; the others land; in = delivered + dead-lettered', async () => {
    const topic = uniqueTopic('orders')
    const dlqTopic = `${topic}.dlq`
    await createTopic(topic, 3, { 'max.message.bytes': '2000' })
    await createTopic(dlqTopic, 1)
    const events: Order[] = Array.from({ length: 300 }, (_, seq) =>
      seq % 30 === 7 ? { seq, amount: 5n } : seq % 30 === 11 ? { seq, note: 'x'.repeat(3000) } : { seq, note: 'fine' },
    )
    const transport = kafkajsTransport({ brokers: brokers().split(',') })
    const dlq = deadLetterQueue<Order>(transport, { topic: dlqTopic })
    const reports = await firstValueFrom(
      from(events).pipe(
        serialize(topic, json<Order>(), { headers: { origin: 'test' }, onError: dlq.serializationError }),
        key((o) => `k${o.seq % 5}`),
        partition(transport),
        batch({ lingerMs: 5 }),
        toKafka(transport, { onError: 'report' }),
        dlq.reports(),
        toArray(),
      ),
    )
    await dlq.close()
    await transport.close()

    const delivered = reports.filter((r) => r.status === 'delivered')
    const deadLettered = reports.filter((r) => r.status === 'dead-lettered')
    expect(reports.filter((r) => r.status === 'failed')).toHaveLength(0)
    expect(delivered).toHaveLength(280)
    expect(deadLettered.map((r) => r.source.seq).sort((a, b) => a - b)).toEqual(events.filter((e) => e.seq % 30 === 11).map((e) => e.seq))
    expect(dlq.stats).toEqual({ deadLettered: 20, failed: 0 })
    // The ledger: every event is delivered or dead-lettered (10 at serialize, 10 at send).
    expect(delivered.length + dlq.stats.deadLettered).toBe(events.length)

    expect(await readTopic(topic)).toHaveLength(280)
    const letters = await readTopic(dlqTopic)
    expect(letters).toHaveLength(20)
    const byStage = (stage: string) => letters.filter((l) => l.headers[DEAD_LETTER_HEADERS.stage] === stage)
    const serializeStage = byStage('serialize')
    const sendStage = byStage('send')
    expect(serializeStage).toHaveLength(10)
    expect(sendStage).toHaveLength(10)
    for (const letter of serializeStage) {
      expect(letter.headers[DEAD_LETTER_HEADERS.exceptionClass]).toBe('SerializationError')
      expect(letter.headers[DEAD_LETTER_HEADERS.exceptionMessage]).toContain('BigInt')
      expect(JSON.parse(letter.value!)).toHaveProperty('unserializable')
    }
    for (const letter of sendStage) {
      // The original key, value and headers, as they were to be sent.
      const original = JSON.parse(letter.value!) as Order
      expect(letter.key).toBe(`k${original.seq % 5}`)
      expect(original.note).toHaveLength(3000)
      expect(letter.headers.origin).toBe('test')
      expect(letter.headers[DEAD_LETTER_HEADERS.topic]).toBe(topic)
      expect(letter.headers[DEAD_LETTER_HEADERS.partition]).toMatch(/^[0-2]$/)
      expect(letter.headers[DEAD_LETTER_HEADERS.exceptionClass]).toBe('RecordTooLargeError')
      expect(Number(letter.headers[DEAD_LETTER_HEADERS.timestamp])).toBeGreaterThan(Date.now() - 120_000)
    }
  })
})
