import { afterAll, describe, expect, it } from 'vitest'
import { from, lastValueFrom, toArray } from 'rxjs'
import { batch, commitOffsets, deadLetterQueue, DEAD_LETTER_HEADERS, fromKafka, json, KafkaConsumer, KafkaSink, partition, serialize, serializeFrom, toKafka, type ConsumedRecord } from '@topicflow/core'
import { wireTransport } from '@topicflow/wire'
import { avroDeserializer, avroSerializer } from '@topicflow/avro'
import { brokers, createTopic, readTopic, registryUrl, uniqueTopic } from './support.js'

interface Order {
  id: string
  total: number
}

const ORDER = { type: 'record', name: 'Order', namespace: 'dev.topicflow.test', fields: [{ name: 'id', type: 'string' }, { name: 'total', type: 'long' }] } as const

const transport = wireTransport({ brokers: brokers().split(',') })
afterAll(() => transport.close())

describe('fromKafka with the registry deserializer (real registry and broker)', () => {
  it('reads Confluent wire format by schema id; a wrong schema id and bytes that are not Avro go to dead letters, and the partition goes on', async () => {
    const input = uniqueTopic('avro-in')
    const output = uniqueTopic('avro-out')
    const dlqTopic = uniqueTopic('avro-dlq')
    for (const topic of [input, output, dlqTopic]) await createTopic(topic, 1)
    const serializer = await avroSerializer<Order>({ registry: registryUrl(), topic: input, schema: ORDER })
    const good = Array.from({ length: 200 }, (_, i) => serializer({ id: `o-${i}`, total: i })!)
    const wrongId = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), good[0]!.subarray(5)])
    const notAvro = Buffer.from('{"id":"json"}')
    const values = [...good.slice(0, 100), wrongId, notAvro, ...good.slice(100)]
    const written = await lastValueFrom(from(values).pipe(serialize(input, (bytes: Buffer) => bytes), partition(transport), batch(), toKafka(transport), toArray()))
    expect(written.every((r) => r.status === 'delivered')).toBe(true)

    const consumer = new KafkaConsumer(transport, { groupId: uniqueTopic('group'), topics: [input], autoOffsetReset: 'earliest' })
    const sink = new KafkaSink<ConsumedRecord<Order>>(transport)
    const dlq = deadLetterQueue<ConsumedRecord<Order>>(transport, { topic: dlqTopic })
    const done = lastValueFrom(
      fromKafka(consumer, { value: avroDeserializer<Order>({ registry: registryUrl(), registryAttempts: 1 }), sink, onError: dlq.deserializationError }).pipe(
        serializeFrom(output, json(), (order) => order.value),
        partition(sink),
        batch(),
        toKafka(sink),
        commitOffsets(consumer),
        toArray(),
      ),
    )
    while (consumer.stats.consumed < 200 || dlq.stats.deadLettered < 2) await new Promise((resolve) => setTimeout(resolve, 50))
    await sink.close()
    await done
    await dlq.close()
    const outputs = await readTopic(output)
    expect(outputs.map((r) => (JSON.parse(r.value!) as Order).id)).toEqual(Array.from({ length: 200 }, (_, i) => `o-${i}`))
    const letters = await readTopic(dlqTopic)
    expect(letters.map((l) => Number(l.headers[DEAD_LETTER_HEADERS.offset]))).toEqual([100, 101])
    for (const letter of letters) {
      expect(letter.headers[DEAD_LETTER_HEADERS.stage]).toBe('deserialize')
      expect(letter.headers[DEAD_LETTER_HEADERS.topic]).toBe(input)
    }
    expect(consumer.stats.committed).toBe(202)
  })
})
