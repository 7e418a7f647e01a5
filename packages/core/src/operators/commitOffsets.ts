import { Observable, type OperatorFunction } from 'rxjs'
import { Consumed } from '../consumer/consumedRecord.js'
import { KafkaConsumer } from '../consumer/kafkaConsumer.js'
import { InvalidOptionError } from '../errors.js'
import type { DeliveryReport } from '../records.js'

/**
 * Commits consumed offsets after delivery (at least once): placed after `toKafka` (and after a dead-letter
 * stage, if any), it counts each report against the consumed record that is its `source`, so that
 * `consumer` commits a partition's offset only past records whose outputs have all ended delivered or
 * dead-lettered, in order per partition. Reports pass through unchanged.
 *
 * A `failed` report is passed on, and then the stream errors with its error: at least once cannot commit
 * past a record that was not delivered (Kafka Streams' default stops the same way), so the consumer
 * commits what is done before it, leaves the group, and a restart reads it again. When the stream ends
 * (its source completes on close or SIGTERM through the sink), the consumer commits what is done and
 * leaves the group before the stream completes.
 *
 * @example
 * fromKafka(consumer, { value: json<Order>(), sink })
 *   .pipe(serializeFrom('orders-enriched', json(), (order) => order.value), partition(sink), batch(), toKafka(sink), commitOffsets(consumer))
 *   .subscribe({ complete: () => console.log(consumer.stats.committed) })
 */
export function commitOffsets<T>(consumer: KafkaConsumer): OperatorFunction<DeliveryReport<T>, DeliveryReport<T>> {
  if (!(consumer instanceof KafkaConsumer)) throw new InvalidOptionError('commitOffsets.consumer', 'a KafkaConsumer', consumer)
  return (source) =>
    new Observable<DeliveryReport<T>>((subscriber) => {
      let ended = false
      /** Commits and leaves the group, then ends the stream with `error` (or the consumer's commit failure), or completes it. */
      const end = (error?: unknown): void => {
        if (ended) return
        ended = true
        // Nothing more will settle once the stream has ended (a completed sink has reported everything): commit what is done now.
        void consumer.close({ timeoutMs: 0 }).then(() => {
          const failure = error ?? consumer.failure
          if (failure !== undefined) subscriber.error(failure)
          else subscriber.complete()
        })
      }
      const subscription = source.subscribe({
        next(report) {
          if (ended) return
          const input = report.source
          if (!(input instanceof Consumed) || input.ledger.owner !== consumer) {
            end(new InvalidOptionError('commitOffsets report source', 'a record read by this consumer (make records with serializeFrom)', input))
            return
          }
          subscriber.next(report)
          if (report.status === 'failed') return end(report.error)
          consumer.settle(input)
          if (consumer.failure !== undefined) end()
        },
        error: (error: unknown) => end(error),
        complete: () => end(),
      })
      return () => {
        subscription.unsubscribe()
        if (!ended) void consumer.close({ timeoutMs: 0 })
      }
    })
}
