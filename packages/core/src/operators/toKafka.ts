import type { OperatorFunction } from 'rxjs'
import { InvalidOptionError } from '../errors.js'
import type { DeliveryReport, OutgoingRecord, RecordBatch } from '../records.js'
import type { Transport } from '../transport.js'
import { KafkaSink } from '../sink/kafkaSink.js'
import type { ToKafkaOptions } from '../sink/options.js'

/**
 * The sink as an operator: `toKafka(transport, options)` makes a `KafkaSink` for this pipeline;
 * `toKafka(sink)` uses one made beforehand (to share it with a pull source).
 *
 * @example
 * import { from } from 'rxjs'
 * import { serialize, key, partition, batch, compress, retry, toKafka, json } from '@topicflow/core'
 * import { kafkajsTransport } from '@topicflow/kafkajs'
 * const transport = kafkajsTransport({ brokers: ['127.0.0.1:9092'] })
 * from([{ id: 'a', total: 3 }])
 *   .pipe(serialize('orders', json()), key((o) => o.id), partition(transport), batch(), compress('zstd'), retry(), toKafka(transport, { acks: 'all' }))
 *   .subscribe((report) => console.log(report.status, report.partition))
 */
export function toKafka<T>(target: Transport | KafkaSink<T>, options?: ToKafkaOptions): OperatorFunction<RecordBatch<T> | OutgoingRecord<T>, DeliveryReport<T>> {
  if (target instanceof KafkaSink) {
    if (options !== undefined) throw new InvalidOptionError('toKafka.options', 'no options with an existing KafkaSink (its options are fixed)', options)
    return target.operator()
  }
  return new KafkaSink<T>(target, options).operator()
}
