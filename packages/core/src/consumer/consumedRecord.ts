import type { FetchedRecord } from '../consumerTransport.js'
import type { RecordHeaders } from '../records.js'
import type { PartitionLedger } from './partitionLedger.js'

/**
 * A record read from Kafka by `fromKafka`: where it was (topic, partition, offset, leader epoch), what it
 * holds (key and value deserialized, headers, timestamp) and its bytes as read. Records made from it by
 * `serializeFrom` carry it as their `source`, so that its offset is committed once they are delivered.
 */
export interface ConsumedRecord<V, K = Buffer | null> {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  /** The leader epoch it was written under (KIP-320), -1 when the broker gave none. */
  readonly leaderEpoch: number
  readonly timestamp: number
  readonly timestampType: 'CreateTime' | 'LogAppendTime'
  readonly key: K
  readonly value: V
  readonly headers: RecordHeaders
  /** The key and value as read, for dead letters and pass-through. */
  readonly raw: FetchedRecord
}

/**
 * A consumed record and the state of its offset: how many records were made from it, how many of those
 * have ended, and whether more may come. Its offset may be committed once `done` and every earlier
 * record of its partition is (see `PartitionLedger`).
 */
export class Consumed<V, K> implements ConsumedRecord<V, K> {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly leaderEpoch: number
  readonly timestamp: number
  readonly timestampType: 'CreateTime' | 'LogAppendTime'
  readonly headers: RecordHeaders
  /** Records made from it so far (`serializeFrom`). */
  outputs = 0
  /** Of those, the ones delivered or dead-lettered. */
  settled = 0
  /** No more records will be made from it: `fromKafka`'s emission of it has returned. */
  sealed = false

  constructor(
    readonly raw: FetchedRecord,
    readonly key: K,
    readonly value: V,
    /** The ledger of its partition in the assignment it was read under. */
    readonly ledger: PartitionLedger,
  ) {
    this.topic = raw.topic
    this.partition = raw.partition
    this.offset = raw.offset
    this.leaderEpoch = raw.leaderEpoch
    this.timestamp = raw.timestamp
    this.timestampType = raw.timestampType
    this.headers = raw.headers
  }

  /** Everything made from it has ended, and nothing more will be. */
  get done(): boolean {
    return this.sealed && this.settled === this.outputs
  }
}
