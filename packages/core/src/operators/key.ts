import { Observable, type OperatorFunction } from 'rxjs'
import { SerializationError } from '../errors.js'
import { serializationErrorHandler, type SerializationErrorPolicy } from './serialize.js'
import { functionOption } from '../options.js'
import type { OutgoingRecord } from '../records.js'
import type { Serializer } from '../serializers.js'

/**
 * Sets each record's key from its event. The extractor returns a string (written as UTF-8), bytes, or
 * `null`/`undefined` for no key; with a serializer it may return anything the serializer takes. A key that
 * cannot be made errors the stream with a `SerializationError` (part `key`) carrying the event, or goes to
 * the `onError` handler.
 *
 * @example
 * import { of } from 'rxjs'
 * import { serialize, key, json } from '@topicflow/core'
 * of({ storeId: 'store-7' }).pipe(serialize('orders', json()), key((o) => o.storeId))
 */
export function key<T, K = string | Uint8Array | null | undefined>(
  extract: (event: T) => K,
  serializer?: Serializer<K>,
  options: { readonly onError?: SerializationErrorPolicy } = {},
): OperatorFunction<OutgoingRecord<T>, OutgoingRecord<T>> {
  functionOption('key.extract', extract)
  if (serializer !== undefined) functionOption('key.serializer', serializer)
  const toBytes = serializer ?? defaultKeyBytes
  const onError = serializationErrorHandler('key.onError', options.onError)
  return (source) =>
    new Observable<OutgoingRecord<T>>((subscriber) =>
      source.subscribe({
        next(record) {
          let keyBytes: Buffer | null
          try {
            keyBytes = toBytes(extract(record.source))
            if (keyBytes !== null && !Buffer.isBuffer(keyBytes)) throw new TypeError('the key serializer must return a Buffer or null')
          } catch (error) {
            onError(new SerializationError('key', record.source, error), (e) => subscriber.error(e))
            return
          }
          subscriber.next({ ...record, key: keyBytes })
        },
        error: (error) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    )
}

function defaultKeyBytes(value: unknown): Buffer | null {
  if (value === null || value === undefined) return null
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  if (Buffer.isBuffer(value)) return value
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  throw new TypeError(`a key must be a string, bytes, null or undefined (or pass a serializer), got ${typeof value}`)
}
