import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { firstValueFrom, from, toArray } from 'rxjs'
import { batch, compress, json, key, partition, partitionForKey, serialize, toKafka, type Codec } from '@topicflow/core'
import type { KafkaCluster } from '@topicflow/testkit'
import { wireTransport } from '@topicflow/wire'
import { createTopic, dumpLogSegments, readTopic, startOwnCluster, topicflow, uniqueTopic } from './support.js'

/** The oldest Kafka the wire transport speaks to: Produce v7 and Metadata v7 arrived in 2.1 (KIP-110, KIP-320). */
const FLOOR = '2.1.1'
/** The release before it, which offers Produce v0–v6 only. */
const BELOW_FLOOR = '2.0.1'

interface Order {
  seq: number
  store: string
}

describe(`the wire transport and the CLI on Kafka ${FLOOR} (the floor) and ${BELOW_FLOOR} (below it)`, () => {
  let floor: KafkaCluster
  let below: KafkaCluster
  beforeAll(async () => {
    // Both run on ZooKeeper (Kafka before 3.3), each started once for the file.
    const [oldest, older] = await Promise.allSettled([
      startOwnCluster({ version: FLOOR, brokerConfig: { 'auto.create.topics.enable': 'false' } }),
      startOwnCluster({ version: BELOW_FLOOR }),
    ])
    if (oldest.status === 'fulfilled') floor = oldest.value
    if (older.status === 'fulfilled') below = older.value
    if (oldest.status === 'rejected') throw oldest.reason
    if (older.status === 'rejected') throw older.reason
  })
  afterAll(async () => {
    await Promise.all([floor?.stop(), below?.stop()])
  })

  it('topicflow produce writes keys, values and headers that kcat reads back', async () => {
    const topic = uniqueTopic('floor-cli')
    await createTopic(topic, 3, {}, floor.bootstrapServers)
    const lines = Array.from({ length: 200 }, (_, i) => `source:cli,seq:${i}\tcustomer-${i % 17}|order ${i} ✓`)
    const reader = ['--property', 'parse.key=true', '--property', 'parse.headers=true', '--property', 'key.separator=|']
    // zstd needs Produce v7, the version this broker is spoken to in.
    const args = ['produce', '--bootstrap-server', floor.bootstrapServers, '--topic', topic, '--compression-codec', 'zstd', '--request-required-acks', 'all', ...reader]
    const run = await topicflow(args, `${lines.join('\n')}\n`)
    expect(run.stderr).toContain('200 delivered')
    expect(run.code).toBe(0)

    const records = await readTopic(topic, floor.bootstrapServers)
    expect(records).toHaveLength(200)
    const bySeq = new Map(records.map((r) => [Number(r.headers.seq), r]))
    for (let i = 0; i < 200; i++) {
      const record = bySeq.get(i)!
      expect([record.key, record.value, record.headers.source]).toEqual([`customer-${i % 17}`, `order ${i} ✓`, 'cli'])
      expect(record.partition).toBe(partitionForKey(Buffer.from(`customer-${i % 17}`), 3))
    }
  })

  it('a pipeline over wireTransport lands every record, idempotently with acks=all, in each codec', async () => {
    const transport = wireTransport({ brokers: [floor.bootstrapServers] })
    try {
      const input: Order[] = Array.from({ length: 2_000 }, (_, seq) => ({ seq, store: `store-${seq % 23}` }))
      const codecs: Codec[] = ['gzip', 'snappy', 'lz4', 'zstd']
      await Promise.all(
        codecs.map(async (codec) => {
          const topic = uniqueTopic(`floor-${codec}`)
          await createTopic(topic, 2, {}, floor.bootstrapServers)
          const reports = await firstValueFrom(
            from(input).pipe(
              serialize(topic, json<Order>(), { headers: (o) => ({ 'x-seq': String(o.seq) }) }),
              key((o) => o.store),
              partition(transport),
              batch({ lingerMs: 5, maxBytes: 64 * 1024 }),
              compress(codec),
              toKafka(transport, { acks: 'all', idempotence: true }),
              toArray(),
            ),
          )
          expect(reports.filter((r) => r.status === 'delivered'), codec).toHaveLength(input.length)

          const landed = await readTopic(topic, floor.bootstrapServers)
          expect(landed.map((r) => JSON.parse(r.value!) as Order).sort((a, b) => a.seq - b.seq), codec).toEqual(input)
          for (const record of landed) expect(record.partition).toBe(partitionForKey(Buffer.from(record.key!), 2))
          // The broker stored the codec asked for, and a producer id on every batch (InitProducerId v1).
          const batches = await dumpLogSegments(topic, 0, { logDir: floor.logDir(0), version: FLOOR })
          expect(batches.length, codec).toBeGreaterThan(0)
          expect(new Set(batches.map((b) => b.codec.toLowerCase())), codec).toEqual(new Set([codec]))
          expect(batches.every((b) => b.producerId >= 0), codec).toBe(true)
        }),
      )
    } finally {
      await transport.close()
    }
  })

  it(`refuses Kafka ${BELOW_FLOOR}, naming the broker, what it offers and the floor`, async () => {
    const [address] = below.bootstrapServers.split(',')
    const message = `The broker at ${address} does not speak Produce v8 or v7 (it offers v0–v6); topicflow's wire transport needs Kafka 2.1 or later`
    const run = await topicflow(['produce', '--bootstrap-server', below.bootstrapServers, '--topic', 'anything'], 'a\n')
    expect(run.stderr).toContain(message)
    expect(run.code).toBe(1)

    const transport = wireTransport({ brokers: [below.bootstrapServers] })
    try {
      await expect(transport.openProducer({ idempotent: true, connectTimeoutMs: 10_000 })).rejects.toThrow(message)
    } finally {
      await transport.close()
    }
  })
})
