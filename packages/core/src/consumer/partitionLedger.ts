import type { OffsetToCommit, TopicPartition } from '../consumerTransport.js'
import type { Consumed } from './consumedRecord.js'

/** What a ledger's records report to: the consumer that commits them. */
export interface LedgerOwner {
  settle(record: Consumed<unknown, unknown>): void
}

/**
 * The records of one assigned partition that were emitted and not yet committable, in offset order, and
 * the offset that may be committed: one past the last record that is done with every record before it
 * done too (the per-partition watermark). A record that made no output (filtered) is done once sealed.
 * One ledger per partition per assignment: a revoked partition's ledger is retired, and records read
 * under it are never committed under a later one.
 */
export class PartitionLedger implements TopicPartition {
  /** Emitted records not yet passed by the watermark; `#head` indexes the first still waiting. */
  #pending: Array<Consumed<unknown, unknown>> = []
  #head = 0
  /** The next offset to commit (one past the last done record), or undefined before the first is done. */
  #committable: OffsetToCommit | undefined
  /** The offset last handed to a commit, so that the same offset is not committed twice. */
  #committed = -1
  /** Records the watermark passed since the last commit was taken (the `committed` count of a commit that succeeds). */
  passedSinceTake = 0
  /** Set when the partition is revoked or lost: the source emits no more of it, and nothing of it is committed after. */
  retired = false

  constructor(
    readonly topic: string,
    readonly partition: number,
    /** The consumer it belongs to: told when one of its records has ended (`settle`). */
    readonly owner: LedgerOwner,
  ) {}

  /** Records emitted and not yet passed by the watermark. */
  get inFlight(): number {
    return this.#pending.length - this.#head
  }

  track(record: Consumed<unknown, unknown>): void {
    this.#pending.push(record)
  }

  /** Moves the watermark past the records that are done at the head; true when it moved. */
  advance(): boolean {
    const pending = this.#pending
    let head = this.#head
    let last: Consumed<unknown, unknown> | undefined
    while (head < pending.length && pending[head]!.done) last = pending[head++]
    if (last === undefined) return false
    this.passedSinceTake += head - this.#head
    this.#committable = { topic: this.topic, partition: this.partition, offset: last.offset + 1, leaderEpoch: last.leaderEpoch }
    // Drop the passed prefix now and then rather than shifting per record.
    if (head > 1024 && head * 2 > pending.length) {
      this.#pending = pending.slice(head)
      head = 0
    }
    this.#head = head
    return true
  }

  /** The offset to commit now, if it moved since the last commit taken; marks it taken. */
  takeCommit(): OffsetToCommit | undefined {
    const offset = this.#committable
    if (offset === undefined || offset.offset === this.#committed) return undefined
    this.#committed = offset.offset
    this.passedSinceTake = 0
    return offset
  }

  /** Gives a taken offset (and the records it covered) back after its commit failed, so that the next commit carries them again. */
  untake(offset: OffsetToCommit, records: number): void {
    if (this.#committed === offset.offset) this.#committed = -1
    this.passedSinceTake += records
  }
}
