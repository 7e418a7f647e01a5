import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { firstValueFrom, from, toArray } from 'rxjs'
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import { batch, key, partition, serialize, toKafka, type SerializationError } from '@topicflow/core'
import { kafkajsTransport } from '@topicflow/kafkajs'
import { avroSerializer, AvroValidationError, IncompatibleSchemaError, SchemaRegistryError } from '@topicflow/avro'
import { brokers, createTopic, readTopicRaw, registryUrl, uniqueTopic } from './support.js'

interface Order {
  id: string
  store: string
  total: number
  items: Array<{ name: string; size: 'S' | 'M' | 'L' }>
  note: string | null
}

const ORDER_V1 = {
  type: 'record',
  name: 'Order',
  namespace: 'dev.topicflow.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'store', type: 'string' },
    { name: 'total', type: 'long' },
    { name: 'items', type: { type: 'array', items: { type: 'record', name: 'Item', fields: [{ name: 'name', type: 'string' }, { name: 'size', type: { type: 'enum', name: 'Size', symbols: ['S', 'M', 'L'] } }] } } },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
} as const

const order = (i: number): Order => ({
  id: `o-${i}`,
  store: `store-${i % 5}`,
  total: 1000 + i,
  items: [{ name: i % 2 === 0 ? 'margherita' : 'diavola', size: (['S', 'M', 'L'] as const)[i % 3]! }],
  note: i % 4 === 0 ? null : `note ${i}`,
})

/** Produces `events` through serialize/key/partition/batch/toKafka; resolves with the delivery reports. */
async function produce<T>(topic: string, events: T[], value: (e: T) => Buffer | null, keyOf?: (e: T) => Buffer | null, onError?: (e: SerializationError) => void) {
  const transport = kafkajsTransport({ brokers: brokers().split(',') })
  try {
    return await firstValueFrom(
      from(events).pipe(
        serialize(topic, value, onError === undefined ? {} : { onError }),
        key((e: T) => (keyOf === undefined ? null : keyOf(e)), (k) => k as Buffer | null),
        partition(transport),
        batch({ lingerMs: 5 }),
        toKafka(transport),
        toArray(),
      ),
    )
  } finally {
    await transport.close()
  }
}

/** A decoder that shares nothing with our serializer: the registry client's own, by the id in each message. */
const independentRegistry = () => new SchemaRegistry({ host: registryUrl() })

async function subjectVersions(subject: string): Promise<number[]> {
  const response = await fetch(`${registryUrl()}/subjects/${subject}/versions`)
  return response.ok ? ((await response.json()) as number[]) : []
}

describe('@topicflow/avro with a real schema registry and broker', () => {
  it('writes Confluent wire format that decodes back, by schema id, to every event; keys have their own subject', async () => {
    const topic = uniqueTopic('avro-orders')
    await createTopic(topic, 3)
    const values = await avroSerializer<Order>({ registry: registryUrl(), topic, schema: ORDER_V1 })
    const keys = await avroSerializer<string>({ registry: registryUrl(), topic, schema: { type: 'string' }, isKey: true })
    const events = Array.from({ length: 500 }, (_, i) => order(i))
    const reports = await produce(topic, events, values, (e) => keys(e.store))
    expect(reports.filter((r) => r.status === 'delivered')).toHaveLength(500)

    const registry = independentRegistry()
    const valueId = await registry.getLatestSchemaId(`${topic}-value`)
    const keyId = await registry.getLatestSchemaId(`${topic}-key`)
    const raw = await readTopicRaw(topic)
    expect(raw).toHaveLength(500)
    const decoded: Order[] = []
    for (const record of raw) {
      expect(record.value![0]).toBe(0)
      expect(record.value!.readUInt32BE(1)).toBe(valueId)
      expect(record.key!.readUInt32BE(1)).toBe(keyId)
      const value = (await registry.decode(record.value!)) as Order
      expect(await registry.decode(record.key!)).toBe(value.store)
      decoded.push(value)
    }
    const byId = (a: Order, b: Order) => a.id.localeCompare(b.id)
    expect(decoded.map((o) => ({ ...o, total: Number(o.total) })).sort(byId)).toEqual([...events].sort(byId))
  })

  it('asks the registry once per schema, not once per record', async () => {
    // A counting proxy in front of the registry sees every request the serializer makes.
    const requests: string[] = []
    const target = new URL(registryUrl())
    const proxy = createServer((incoming, outgoing) => {
      requests.push(`${incoming.method} ${incoming.url}`)
      const forwarded = httpRequest({ host: target.hostname, port: target.port, path: incoming.url, method: incoming.method, headers: incoming.headers }, (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(outgoing)
      })
      incoming.pipe(forwarded)
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = proxy.address() as AddressInfo
      const topic = uniqueTopic('avro-once')
      const values = await avroSerializer<Order>({ registry: `http://127.0.0.1:${port}${target.pathname}`, topic, schema: ORDER_V1 })
      const setup = requests.length
      expect(setup).toBeGreaterThan(0)
      expect(setup).toBeLessThanOrEqual(3)
      for (let i = 0; i < 10_000; i++) values(order(i))
      expect(requests).toHaveLength(setup)
      expect(await subjectVersions(`${topic}-value`)).toEqual([1])
    } finally {
      proxy.close()
    }
  })

  it('names subjects by the record and topic-record strategies; reads schemas by version, id and .avsc file', async () => {
    const topic = uniqueTopic('avro-strategies')
    await avroSerializer<Order>({ registry: registryUrl(), topic, schema: ORDER_V1, subjectNameStrategy: 'topic-record' })
    expect(await subjectVersions(`${topic}-dev.topicflow.test.Order`)).toEqual([1])
    const recordNamed = { ...ORDER_V1, name: `Order_${topic.replace(/\W/g, '_')}` }
    await avroSerializer<Order>({ registry: registryUrl(), topic, schema: recordNamed, subjectNameStrategy: 'record' })
    expect(await subjectVersions(`dev.topicflow.test.${recordNamed.name}`)).toEqual([1])

    const dir = mkdtempSync(join(tmpdir(), 'topicflow-avsc-'))
    try {
      const file = join(dir, 'order.avsc')
      writeFileSync(file, JSON.stringify(ORDER_V1))
      const fromFile = await avroSerializer<Order>({ registry: registryUrl(), topic, schemaFile: file })
      const latest = await avroSerializer<Order>({ registry: registryUrl(), topic, registryVersion: 'latest' })
      const id = fromFile(order(1))!.readUInt32BE(1)
      const byId = await avroSerializer<Order>({ registry: registryUrl(), topic, registryId: id })
      expect(latest(order(1))).toEqual(fromFile(order(1)))
      expect(byId(order(1))).toEqual(fromFile(order(1)))
      expect(await avroSerializer<Order>({ registry: registryUrl(), topic, registryVersion: 1 }).then((s) => s(order(2)))).toEqual(fromFile(order(2)))
      // autoRegister false: a schema the subject holds is found; one it does not hold is an error, not a registration.
      const found = await avroSerializer<Order>({ registry: registryUrl(), topic, schema: ORDER_V1, autoRegister: false })
      expect(found(order(3))!.readUInt32BE(1)).toBe(id)
      const other = uniqueTopic('avro-unregistered')
      const missing = await avroSerializer({ registry: registryUrl(), topic: other, schema: ORDER_V1, autoRegister: false }).catch((e: unknown) => e)
      expect(missing).toBeInstanceOf(SchemaRegistryError)
      expect((missing as SchemaRegistryError).status).toBe(404)
      expect(await subjectVersions(`${other}-value`)).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('evolution: a compatible v2 registers and is used; an incompatible change is refused before any record is sent', async () => {
    const topic = uniqueTopic('avro-evolution')
    await createTopic(topic, 1)
    const v1 = await avroSerializer<Order>({ registry: registryUrl(), topic, schema: ORDER_V1 })
    await produce(topic, [order(1)], v1)
    const v2Schema = { ...ORDER_V1, fields: [...ORDER_V1.fields, { name: 'channel', type: 'string', default: 'web' }] }
    const v2 = await avroSerializer<Order & { channel: string }>({ registry: registryUrl(), topic, schema: v2Schema })
    await produce(topic, [{ ...order(2), channel: 'app' }], v2)
    expect(await subjectVersions(`${topic}-value`)).toEqual([1, 2])

    const raw = await readTopicRaw(topic)
    const registry = independentRegistry()
    const decoded = await Promise.all(raw.map((r) => registry.decode(r.value!) as Promise<Record<string, unknown>>))
    expect(decoded.map((d) => [d.id, d.channel])).toEqual([
      ['o-1', undefined],
      ['o-2', 'app'],
    ])
    expect(raw[0]!.value!.readUInt32BE(1)).not.toBe(raw[1]!.value!.readUInt32BE(1))

    const incompatible = { ...ORDER_V1, fields: ORDER_V1.fields.map((f) => (f.name === 'total' ? { name: 'total', type: 'string' } : f)) }
    const refused = await avroSerializer({ registry: registryUrl(), topic, schema: incompatible }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(IncompatibleSchemaError)
    expect((refused as IncompatibleSchemaError).retriable).toBe(false)
    expect((refused as IncompatibleSchemaError).subject).toBe(`${topic}-value`)
    expect(await readTopicRaw(topic)).toHaveLength(2)
  })

  it('an event that does not match the schema gets an error naming the field and the event; the others land', async () => {
    const topic = uniqueTopic('avro-invalid')
    await createTopic(topic, 2)
    const values = await avroSerializer<Order>({ registry: registryUrl(), topic, schema: ORDER_V1 })
    const bad = [
      { ...order(100), total: 'lots' },
      { ...order(101), items: [{ name: 'x', size: 'XL' }] },
      { ...order(102), id: undefined },
    ] as unknown as Order[]
    const events = [order(1), bad[0]!, order(2), bad[1]!, order(3), bad[2]!]
    const errors: SerializationError[] = []
    const reports = await produce(topic, events, values, undefined, (e) => errors.push(e))
    expect(reports.filter((r) => r.status === 'delivered').map((r) => r.source.id)).toEqual(expect.arrayContaining(['o-1', 'o-2', 'o-3']))
    expect(reports).toHaveLength(3)
    expect(errors.map((e) => e.event)).toEqual(bad)
    const causes = errors.map((e) => e.cause as AvroValidationError)
    expect(causes.every((c) => c instanceof AvroValidationError)).toBe(true)
    expect(causes.map((c) => c.paths)).toEqual([['total'], ['items.0.size'], ['id']])
    expect(errors[0]!.message).toContain('o-100')
    expect(await readTopicRaw(topic)).toHaveLength(3)
  })

  it('an unreachable registry: retried with backoff, then a clear retriable error within a bounded time', async () => {
    const started = Date.now()
    const error = await avroSerializer({ registry: 'http://127.0.0.1:1', topic: 'nowhere', schema: ORDER_V1, registryAttempts: 3 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SchemaRegistryError)
    expect((error as SchemaRegistryError).message).toContain('could not be reached')
    expect((error as SchemaRegistryError).retriable).toBe(true)
    expect(Date.now() - started).toBeLessThan(10_000)
  })
})
