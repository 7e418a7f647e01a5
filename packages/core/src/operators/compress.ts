import { map, type OperatorFunction } from 'rxjs'
import { InvalidOptionError } from '../errors.js'
import { CODECS, type Codec, type RecordBatch } from '../records.js'

/**
 * Chooses the compression codec of each batch: one codec, or a function of the batch (say, zstd for
 * large batches only). Kafka compresses per record batch inside the protocol encoder, so the transport
 * applies it; this operator only decides.
 *
 * @example
 * import { compress } from '@topicflow/core'
 * batches$.pipe(compress((b) => (b.sizeBytes > 4096 ? 'zstd' : 'none')))
 */
export function compress<T>(codec: Codec | ((batch: RecordBatch<T>) => Codec)): OperatorFunction<RecordBatch<T>, RecordBatch<T>> {
  if (typeof codec !== 'function') {
    checkCodec(codec, 'compress.codec')
    return (source) => source.pipe(map((b) => (b.codec === codec ? b : { ...b, codec })))
  }
  return (source) => source.pipe(map((b) => ({ ...b, codec: checkCodec(codec(b), 'compress.codec(batch)') })))
}

function checkCodec(codec: unknown, option: string): Codec {
  if (!CODECS.includes(codec as Codec)) throw new InvalidOptionError(option, CODECS.join(' | '), codec)
  return codec as Codec
}
