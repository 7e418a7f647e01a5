import avro from 'avsc'
import { TopicflowError, type Deserializer } from '@topicflow/core'
import { RegistryClient, type RegistryConnection } from './registryClient.js'

/** Options of `avroDeserializer`. */
export interface AvroDeserializerOptions {
  /** The schema registry (Confluent API) the writer schemas are read from. */
  readonly registry: RegistryConnection
  /**
   * The schema to read into (Avro's reader schema, for schema evolution). Default: each record's writer
   * schema as it is.
   */
  readonly readerSchema?: avro.Schema
  /** Registry calls that fail on the network or with a 5xx: how many attempts in all. Default 5. */
  readonly registryAttempts?: number
}

/** The bytes are not Confluent's wire format (magic byte 0, 4-byte schema id), or do not decode under their schema. */
export class AvroDecodeError extends TopicflowError {}

/**
 * A `Deserializer` of Confluent's wire format for `fromKafka`: the schema id after the magic byte is looked
 * up in the registry once (the first record of an id waits for it; later ones decode synchronously), and
 * the Avro binary decoded, into `readerSchema` when given. A null value (a tombstone) reads as null. Bytes
 * that are not the wire format, an id the registry does not know, or Avro that does not decode reject
 * with an error that `fromKafka` reports as a `DeserializationError` naming the record.
 *
 * @example
 * import { fromKafka } from '@topicflow/core'
 * import { avroDeserializer } from '@topicflow/avro'
 * fromKafka(consumer, { value: avroDeserializer<Order>({ registry: 'http://127.0.0.1:8081' }), sink })
 */
export function avroDeserializer<T>(options: AvroDeserializerOptions): Deserializer<T> {
  const registry = new RegistryClient(options.registry, options.registryAttempts)
  const reader = options.readerSchema === undefined ? undefined : avro.Type.forSchema(options.readerSchema)
  /** Each schema id's decoder, once its schema came back; and the lookups under way. */
  const decoders = new Map<number, (payload: Buffer) => T>()
  const lookups = new Map<number, Promise<(payload: Buffer) => T>>()
  const decoderFor = (id: number): Promise<(payload: Buffer) => T> => {
    let lookup = lookups.get(id)
    if (lookup === undefined) {
      lookup = registry.schemaById(id).then((text) => {
        const writer = avro.Type.forSchema(JSON.parse(text) as avro.Schema)
        const resolver = reader === undefined ? undefined : reader.createResolver(writer)
        const decode = (payload: Buffer): T => (resolver === undefined ? writer.fromBuffer(payload) : reader!.fromBuffer(payload, resolver)) as T
        decoders.set(id, decode)
        return decode
      })
      // A failed lookup is asked again by the next record of that id.
      lookup.catch(() => lookups.delete(id))
      lookups.set(id, lookup)
    }
    return lookup
  }
  return (bytes) => {
    if (bytes === null) return null as T
    if (bytes.length < 5 || bytes[0] !== 0) throw new AvroDecodeError(`not Confluent's Avro wire format (${bytes.length} bytes, first byte ${bytes[0] ?? 'none'}; expected magic byte 0 and a 4-byte schema id)`)
    const id = bytes.readUInt32BE(1)
    const payload = bytes.subarray(5)
    const known = decoders.get(id)
    if (known !== undefined) return known(payload)
    return decoderFor(id).then((decode) => decode(payload))
  }
}
