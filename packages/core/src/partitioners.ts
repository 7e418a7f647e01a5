import { InvalidOptionError } from './errors.js'
import { integerOption } from './options.js'
import { partitionForKey } from './murmur2.js'
import { recordSizeBytes, type OutgoingRecord } from './records.js'

/** Picks a partition in `[0, partitionCount)` for a record. May keep state (sticky, round-robin). */
export type Partitioner = (record: OutgoingRecord<unknown>, partitionCount: number) => number

/** How records without a key are spread. */
export type NullKeyStrategy = 'sticky' | 'round-robin'

/** Options of `murmur2Partitioner`. */
export interface Murmur2PartitionerOptions {
  /** Records with a null key: `sticky` (Java's default since 3.x) or `round-robin`. Default `sticky`. */
  readonly nullKeys?: NullKeyStrategy
  /** With `sticky`: bytes written to one partition before moving to another (Java's `batch.size`). Default 16384. */
  readonly stickyBytes?: number
}

/**
 * Java's default partitioner: keyed records go to `toPositive(murmur2(key)) % partitions`, so topicflow
 * co-partitions with every Java-compatible client; null keys are sticky (or round-robin).
 *
 * @example
 * import { partition, murmur2Partitioner } from '@topicflow/core'
 * records$.pipe(partition(transport, { partitioner: murmur2Partitioner({ nullKeys: 'round-robin' }) }))
 */
export function murmur2Partitioner(options: Murmur2PartitionerOptions = {}): Partitioner {
  const forNullKeys = options.nullKeys === 'round-robin' ? roundRobinPartitioner() : stickyPartitioner(options.stickyBytes)
  if (options.nullKeys !== undefined && options.nullKeys !== 'sticky' && options.nullKeys !== 'round-robin') {
    throw new InvalidOptionError('murmur2Partitioner.nullKeys', '"sticky" or "round-robin"', options.nullKeys)
  }
  return (record, partitionCount) =>
    record.key === null ? forNullKeys(record, partitionCount) : partitionForKey(record.key, partitionCount)
}

/** Every record (keyed or not) to the next partition in turn, per topic. */
export function roundRobinPartitioner(): Partitioner {
  const next = new Map<string, number>()
  return (record, partitionCount) => {
    const current = next.get(record.topic) ?? 0
    next.set(record.topic, current + 1)
    return current % partitionCount
  }
}

/**
 * Stays on one partition per topic until `stickyBytes` were written there, then moves to another one
 * at random (Java's sticky partitioning, KIP-480/KIP-794): fuller batches, fewer requests.
 */
export function stickyPartitioner(stickyBytes?: number): Partitioner {
  const limit = integerOption('murmur2Partitioner.stickyBytes', stickyBytes, 16384, 1)
  const state = new Map<string, { partition: number; bytes: number }>()
  return (record, partitionCount) => {
    let current = state.get(record.topic)
    if (current === undefined || current.bytes >= limit || current.partition >= partitionCount) {
      const previous = current?.partition
      let pick = Math.floor(Math.random() * partitionCount)
      if (partitionCount > 1 && pick === previous) pick = (pick + 1) % partitionCount
      current = { partition: pick, bytes: 0 }
      state.set(record.topic, current)
    }
    current.bytes += recordSizeBytes(record)
    return current.partition
  }
}
