import type { TopicflowError } from '../errors.js'
import type { DeliveryReport, OutgoingRecord } from '../records.js'
import type { ProduceAck } from '../transport.js'
import type { SinkInstrumentation } from './options.js'

/** Counters of a sink over all its subscriptions; they move only in `RecordSettler.settle`. */
export interface SinkStats {
  /** Records acknowledged (or sent, with acks 0). */
  delivered: number
  /** Records that failed for good: refused, timed out, dropped, handed back, or never sent after a fatal failure. */
  failed: number
  /** Records dropped because the buffer was full (`onBufferFull: 'drop'`); also counted in `failed`. */
  dropped: number
  /** Produce requests sent, retries included (tries that could not reach a broker are not requests). */
  requests: number
  /** Attempts beyond the first. */
  retries: number
}

/** How a group of records of one topic-partition ended. */
export type Settlement =
  /** The broker acknowledged them (offsets follow from `ack.baseOffset`). */
  | { readonly kind: 'delivered'; readonly ack: ProduceAck }
  /** They failed with `error`; `emit` says whether the subscriber gets failed reports or the stream's error names them. */
  | { readonly kind: 'failed'; readonly error: TopicflowError; readonly emit: boolean }
  /** The buffer was full and `onBufferFull` is `'drop'`: failed reports, counted as dropped. */
  | { readonly kind: 'dropped'; readonly error: TopicflowError }
  /** A close deadline overtook them: failed, and their events handed back by `close()`. */
  | { readonly kind: 'handed back'; readonly error: TopicflowError; readonly emit: boolean }

/** Where the records are from: a batch, or records that never made one. */
export interface Placement {
  readonly topic: string
  readonly partition: number | undefined
}

/**
 * The one place every record of a run ends (franz-go's `finishPromises`): the sink's stats, the
 * instrumentation's `settled` hook, the report stream and `close()`'s hand-back list move together, so
 * they always agree.
 */
export class RecordSettler<T> {
  constructor(
    readonly stats: SinkStats,
    readonly instrumentation: SinkInstrumentation | undefined,
    /** Passes a report to the subscriber. */
    readonly emit: (report: DeliveryReport<T>) => void,
    /** `close()`'s list of events handed back. */
    readonly handedBack: unknown[],
  ) {}

  settle(records: readonly OutgoingRecord<T>[], where: Placement, settlement: Settlement): void {
    const settled = this.instrumentation?.settled
    if (settlement.kind === 'delivered') {
      this.stats.delivered += records.length
      const { ack } = settlement
      for (let i = 0; i < records.length; i++) {
        const record = records[i]!
        const report: DeliveryReport<T> = {
          status: 'delivered',
          topic: where.topic,
          partition: where.partition!,
          offset: ack.baseOffset < 0 ? -1 : ack.baseOffset + i,
          timestamp: ack.logAppendTime >= 0 ? ack.logAppendTime : record.timestamp,
          source: record.source,
        }
        this.emit(report)
        settled?.(record, report)
      }
      return
    }
    this.stats.failed += records.length
    if (settlement.kind === 'dropped') this.stats.dropped += records.length
    const emit = settlement.kind === 'dropped' || settlement.emit
    for (const record of records) {
      if (settlement.kind === 'handed back') this.handedBack.push(record.source)
      const report: DeliveryReport<T> = { status: 'failed', topic: where.topic, partition: where.partition, error: settlement.error, source: record.source, record }
      if (emit) this.emit(report)
      settled?.(record, report)
    }
  }

  /** Counts a produce request that reached a broker (`attempt` from 1). */
  countRequest(attempt: number): void {
    this.stats.requests++
    if (attempt > 1) this.stats.retries++
  }
}
