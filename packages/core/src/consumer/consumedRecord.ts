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
  ) {}

  // Where it was is read from the fetched record rather than copied: a consumed record is made per record
  // read, and seven more fields were a fifth of its allocation.
  get topic(): string {
    return this.raw.topic
  }

  get partition(): number {
    return this.raw.partition
  }

  get offset(): number {
    return this.raw.offset
  }

  get leaderEpoch(): number {
    return this.raw.leaderEpoch
  }

  get timestamp(): number {
    return this.raw.timestamp
  }

  get timestampType(): 'CreateTime' | 'LogAppendTime' {
    return this.raw.timestampType
  }

  get headers(): RecordHeaders {
    return this.raw.headers
  }

  /** Everything made from it has ended, and nothing more will be. */
  get done(): boolean {
    return this.sealed && this.settled === this.outputs
  }

  /** As JSON: what it holds and where it was (not its ledger, which leads to the consumer). */
  toJSON(): object {
    return { topic: this.topic, partition: this.partition, offset: this.offset, timestamp: this.timestamp, key: this.key, value: this.value }
  }
}
