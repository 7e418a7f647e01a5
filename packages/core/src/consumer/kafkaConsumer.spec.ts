import { describe, expect, it } from 'vitest'
import { lastValueFrom, toArray } from 'rxjs'
import type { ConsumerSession, ConsumerSessionOptions, ConsumerTransport, FetchedRecord, OffsetToCommit, RebalanceListener, TopicPartition } from '../consumerTransport.js'
import { commitOffsets } from '../operators/commitOffsets.js'
import { partition } from '../operators/partition.js'
import { serializeFrom } from '../operators/serializeFrom.js'
import { toKafka } from '../operators/toKafka.js'
import { NO_HEADERS } from '../records.js'
import { ProduceError } from '../errors.js'
import { json, string } from '../serializers.js'
import { KafkaSink } from '../sink/kafkaSink.js'
import { MemoryTransport } from '../testing/memoryTransport.js'
import type { ConsumedRecord } from './consumedRecord.js'
import { fromKafka } from './fromKafka.js'
import { KafkaConsumer } from './kafkaConsumer.js'

/** A consumer transport with scripted partitions: each poll hands out the next chunk of one assigned partition. */
class ScriptedConsumer implements ConsumerTransport, ConsumerSession {
  readonly brokers = 'scripted'
  listener: RebalanceListener | undefined
  readonly commits: OffsetToCommit[][] = []
  readonly #next = new Map<number, number>()
  assignment: TopicPartition[] = []
  readonly generation = undefined

  constructor(
    readonly perPartition: number,
    readonly partitions: number[],
    readonly chunk = 10,
  ) {}

  async openConsumer(options: ConsumerSessionOptions): Promise<ConsumerSession> {
    this.listener = options.listener
    this.assign(this.partitions)
    return this
  }

  assign(partitions: number[]): void {
    const added = partitions.map((partition) => ({ topic: 'in', partition }))
    this.assignment = [...this.assignment, ...added]
    this.listener!.assigned(added)
  }

  async revoke(partitions: number[]): Promise<void> {
    const revoked = this.assignment.filter((p) => partitions.includes(p.partition))
    this.assignment = this.assignment.filter((p) => !partitions.includes(p.partition))
    await this.listener!.revoked(revoked)
  }

  async poll(): Promise<readonly FetchedRecord[]> {
    await new Promise((resolve) => setImmediate(resolve))
    for (const { partition } of this.assignment) {
      const from = this.#next.get(partition) ?? 0
      if (from >= this.perPartition) continue
      const to = Math.min(this.perPartition, from + this.chunk)
      this.#next.set(partition, to)
      return Array.from({ length: to - from }, (_, i) => ({
        topic: 'in',
        partition,
        offset: from + i,
        leaderEpoch: 0,
        timestamp: 1,
        timestampType: 'CreateTime' as const,
        key: Buffer.from(`k${partition}`),
        value: Buffer.from(JSON.stringify({ n: from + i, p: partition })),
        headers: NO_HEADERS,
      }))
    }
    return []
  }

  async commit(offsets: readonly OffsetToCommit[]): Promise<void> {
    this.commits.push([...offsets])
  }

  async close(): Promise<void> {}
}

const committedOf = (source: ScriptedConsumer, partition: number): number =>
  Math.max(-1, ...source.commits.flat().filter((c) => c.partition === partition).map((c) => c.offset))

describe('KafkaConsumer, fromKafka, serializeFrom and commitOffsets', () => {
  it('commits an offset only once the outputs of every record before it are delivered', async () => {
    const source = new ScriptedConsumer(200, [0, 1])
    const produced = new MemoryTransport({ topics: { out: 2 }, latencyMs: 3 })
    const consumer = new KafkaConsumer(source, { groupId: 'g', topics: ['in'], commitIntervalMs: 1, commitBatchRecords: 7 })
    const sink = new KafkaSink<ConsumedRecord<{ n: number; p: number }>>(produced)
    let checked = 0
    const done = lastValueFrom(
      fromKafka(consumer, { value: json<{ n: number; p: number }>(), sink }).pipe(
        serializeFrom('out', json(), (input) => ({ ...input.value, seen: true })),
        partition(sink),
        toKafka(sink),
        commitOffsets(consumer),
        toArray(),
      ),
    )
    // Every commit so far covers only inputs whose output is stored.
    const watch = setInterval(() => {
      const stored = new Set([0, 1].flatMap((p) => produced.records('out', p).map((r) => r.value!.toString())))
      for (const p of [0, 1]) for (let n = 0; n < committedOf(source, p); n++) if (!stored.has(JSON.stringify({ n, p, seen: true }))) throw new Error(`committed ${p}:${n} before delivery`)
      checked++
    }, 1)
    while (consumer.stats.consumed < 400) await new Promise((resolve) => setTimeout(resolve, 5))
    await sink.close()
    const reports = await done
    clearInterval(watch)
    expect(reports).toHaveLength(400)
    expect(checked).toBeGreaterThan(0)
    expect(committedOf(source, 0)).toBe(200)
    expect(committedOf(source, 1)).toBe(200)
    expect(consumer.stats.committed).toBe(400)
  })

  it('on revocation emits no more of the partition, drains it, commits it once, and never after', async () => {
    const source = new ScriptedConsumer(10_000, [0, 1], 50)
    const produced = new MemoryTransport({ topics: { out: 1 }, latencyMs: 2 })
    const consumer = new KafkaConsumer(source, { groupId: 'g', topics: ['in'], commitIntervalMs: 5 })
    const sink = new KafkaSink<ConsumedRecord<Buffer | null>>(produced)
    let emittedAfterRevoke = 0
    let revoked = false
    const done = lastValueFrom(
      fromKafka(consumer, { sink }).pipe(
        serializeFrom('out', string(), (input) => {
          if (revoked && input.partition === 0) emittedAfterRevoke++
          return `${input.partition}:${input.offset}`
        }),
        partition(sink),
        toKafka(sink),
        commitOffsets(consumer),
        toArray(),
      ),
    )
    while (consumer.stats.consumed < 500) await new Promise((resolve) => setTimeout(resolve, 2))
    const revocation = source.revoke([0])
    revoked = true
    await revocation
    const commitsAtRevoke = source.commits.length
    const finalP0 = committedOf(source, 0)
    // Everything emitted of partition 0 was delivered before its commit.
    const delivered0 = produced.records('out', 0).filter((r) => r.value!.toString().startsWith('0:')).length
    expect(finalP0).toBe(delivered0)
    while (consumer.stats.consumed < 2_000) await new Promise((resolve) => setTimeout(resolve, 2))
    await sink.close()
    await done
    expect(emittedAfterRevoke).toBe(0)
    expect(source.commits.slice(commitsAtRevoke).flat().filter((c) => c.partition === 0)).toEqual([])
    expect(committedOf(source, 1)).toBeGreaterThan(0)
  })

  it('stops with the error of a failed report after committing what came before it', async () => {
    const source = new ScriptedConsumer(50, [0])
    const produced = new MemoryTransport({
      topics: { out: 1 },
      beforeSend: (request) => {
        if (request.records.some((r) => r.value!.toString() === '0:20')) throw new ProduceError('refused', 'INVALID_RECORD', { topic: 'out', partition: 0, retriable: false })
      },
    })
    const consumer = new KafkaConsumer(source, { groupId: 'g', topics: ['in'], commitIntervalMs: 1 })
    const sink = new KafkaSink<ConsumedRecord<Buffer | null>>(produced, { onError: 'report' })
    const error = await lastValueFrom(
      fromKafka(consumer, { sink }).pipe(serializeFrom('out', string(), (input) => `${input.partition}:${input.offset}`), partition(sink), toKafka(sink), commitOffsets(consumer)),
    ).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProduceError)
    expect(committedOf(source, 0)).toBeLessThanOrEqual(20)
    expect(consumer.state).toBe('closed')
  })
})
