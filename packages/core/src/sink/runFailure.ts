import { DeliveryFailedError, type TopicflowError } from '../errors.js'
import type { OutgoingRecord } from '../records.js'

/**
 * What a run that failed in `'fail'` mode must name when it ends: the first fatal error, the events that
 * failed with it or after it, the records that arrived afterwards and were never sent, and the events an
 * upstream error named while the run drained. Together with the reports emitted, they account for every event.
 */
export class RunFailure<T> {
  /** The first fatal error: the one the stream ends with. */
  readonly first: TopicflowError
  /** Events of records that failed for good. */
  readonly #failed: unknown[] = []
  /** Records accepted after the failure, never sent. */
  readonly unsent: OutgoingRecord<T>[] = []
  /** Events named by the upstream error that ended the drain (records that never reached the sink). */
  upstreamSources: readonly unknown[] = []

  constructor(first: TopicflowError) {
    this.first = first
  }

  failed(records: readonly OutgoingRecord<T>[]): void {
    for (const record of records) this.#failed.push(record.source)
  }

  /** The stream's end error, naming every event; `unsent` are the records never sent. */
  toError(unsent: readonly OutgoingRecord<T>[]): DeliveryFailedError {
    return new DeliveryFailedError(this.first, this.#failed, [...unsent.map((r) => r.source), ...this.upstreamSources])
  }
}
