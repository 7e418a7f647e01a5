import { map, type OperatorFunction } from 'rxjs'
import { InvalidOptionError, withSources } from '../errors.js'
import { CODECS, type Codec, type RecordBatch } from '../records.js'

/**
 * Chooses the compression codec of each batch: one codec, or a function of the batch (say, zstd for
 * large batches only). Kafka compresses per record batch inside the protocol encoder, so the transport
 * applies it; this operator only decides. A function that throws, or names no codec, fails that batch's
 * records (the batch goes on to the sink with `failure` set, naming its events) instead of erroring the
 * stream here, which would cut off what `batch` still holds.
 *
 * @example
 * import { compress } from '@topicflow/core'
 * batches$.pipe(compress((b) => (b.sizeBytes > 4096 ? 'zstd' : 'none')))
 */
export function compress<T>(codec: Codec | ((batch: RecordBatch<T>) => Codec)): OperatorFunction<RecordBatch<T>, RecordBatch<T>> {
  if (typeof codec !== 'function') {
    checkCodec(codec, 'compress.codec')
    return (source) => source.pipe(map((b) => (b.codec === codec || b.failure !== undefined ? b : { ...b, codec })))
  }
  return (source) =>
    source.pipe(
      map((b) => {
        if (b.failure !== undefined) return b
        try {
          return { ...b, codec: checkCodec(codec(b), 'compress.codec(batch)') }
        } catch (error) {
          return { ...b, failure: withSources(error, b.records.map((r) => r.source), { topic: b.topic, partition: b.partition }) }
        }
      }),
    )
}

function checkCodec(codec: unknown, option: string): Codec {
  if (!CODECS.includes(codec as Codec)) throw new InvalidOptionError(option, CODECS.join(' | '), codec)
  return codec as Codec
}
