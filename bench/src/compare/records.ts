/**
 * The records every contender of the comparison sends: keyed (1,024 distinct string keys, so every
 * partition gets records), values of a fixed size taken from one block of bytes at varying offsets
 * (half random, half text). Generated lazily: nobody holds the whole run in memory.
 *
 * The values are `VALUES` slices of the block made once and handed out in turn, as Java's
 * ProducerPerformance sends one payload array: a fresh slice per record (a Buffer object each, over 1 MiB
 * of block read at random) cost the generator more than some of the operators it feeds (~0.2 µs per
 * record on Node 26), and that cost is the bench's, not the contender's.
 */
import { randomBytes } from 'node:crypto'
import { TurnClock } from '@topicflow/core/internal'

export interface BenchRecord {
  readonly key: string
  readonly value: Buffer
  /** When the record was made (epoch ms, from a TurnClock): ack latency counts from here. */
  readonly madeAt: number
}

const KEYS = 1024
const POOL_BYTES = 1 << 20
/** Distinct value slices, reused in turn (4,096 × 1 KiB stays within the block). */
const VALUES = 4096

export function* benchRecords(count: number, valueBytes: number): Generator<BenchRecord> {
  // Half random, half a repeated text, so lz4 and zstd have something to do, as with real payloads.
  const pool = Buffer.concat([randomBytes(POOL_BYTES / 2), Buffer.from('{"event":"page_view","user":"u-000000","path":"/"}'.repeat(POOL_BYTES / 2 / 50 + 1))])
  const keys = Array.from({ length: KEYS }, (_, i) => `key-${i}`)
  const span = pool.length - valueBytes
  const values = Array.from({ length: VALUES }, (_, i) => {
    const start = (i * 7919) % span
    return pool.subarray(start, start + valueBytes)
  })
  // The clock as topicflow's serialize reads it (once per 64 records of a turn at most): Date.now() costs
  // ~80 ns here, and every contender's latency counts from this reading.
  const clock = new TurnClock()
  for (let i = 0; i < count; i++) yield { key: keys[i % KEYS]!, value: values[i % VALUES]!, madeAt: clock.now() }
}

/**
 * Records per hand-made chunk for the contenders that batch by hand: 10,000, or fewer so that a chunk holds
 * at most 1 MiB of values (a client that puts one partition's share in one record batch must stay under
 * the broker's message.max.bytes; 10,000 records of 1 KB got MESSAGE_TOO_LARGE).
 */
export function chunkRecords(valueBytes: number): number {
  return Math.max(1, Math.min(10_000, Math.floor((1 << 20) / valueBytes)))
}

/** Hands `records` to `flush` in chunks of `size`, awaiting each: what the contenders that batch by hand do. */
export async function inChunks<R>(records: Iterable<R>, size: number, flush: (chunk: R[]) => Promise<void>): Promise<void> {
  let chunk: R[] = []
  for (const record of records) {
    chunk.push(record)
    if (chunk.length === size) {
      await flush(chunk)
      chunk = []
    }
  }
  if (chunk.length > 0) await flush(chunk)
}
