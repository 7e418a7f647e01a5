/** Turns a value into bytes (or `null`, a Kafka null value / tombstone). May throw; `serialize` reports it. */
export type Serializer<V> = (value: V) => Buffer | null

/**
 * Turns bytes read from Kafka (or `null`) back into a value; may throw (`fromKafka` reports a
 * `DeserializationError`), and may return a promise when it must look something up first (a registry's
 * schema), which `fromKafka` then waits for.
 */
export type Deserializer<V> = (bytes: Buffer | null) => V | Promise<V>

/** A serializer that can also read what it writes: `serialize` takes it as a serializer, `fromKafka` as a deserializer. */
export interface Serde<V> {
  (value: V): Buffer | null
  readonly deserialize: Deserializer<V>
}

/** What `fromKafka` takes for a key or value: a deserializer, or a serde whose `deserialize` it uses. */
export type DeserializerInput<V> = Deserializer<V> | Serde<V>

/** The deserializer of a `DeserializerInput`. */
export function deserializerOf<V>(input: DeserializerInput<V>): Deserializer<V> {
  const deserialize = (input as Partial<Serde<V>>).deserialize
  return typeof deserialize === 'function' ? deserialize : (input as Deserializer<V>)
}

function serde<V>(serialize: (value: V) => Buffer | null, deserialize: Deserializer<V>): Serde<V> {
  return Object.assign(serialize, { deserialize })
}

/**
 * JSON as UTF-8. Throws on values JSON cannot carry: `undefined`, functions, symbols, BigInt and cycles.
 * On Node 24 and later, V8's fast `JSON.stringify` path (three times the speed of the general one for an
 * ordinary event, which is why it is used) meets a cycle only after about 25 ms; so each event with a
 * cycle costs that before its `SerializationError`, where Node 22 and earlier take microseconds. Read
 * back, a null value (a tombstone) is `null`.
 *
 * @example
 * serialize('orders', json<Order>())
 * fromKafka(consumer, { value: json<Order>() })
 */
export function json<V>(): Serde<V> {
  return serde<V>(
    (value) => {
      const text = JSON.stringify(value)
      if (text === undefined) throw new TypeError(`${typeof value} is not representable as JSON`)
      return Buffer.from(text, 'utf8')
    },
    (bytes) => (bytes === null ? (null as V) : (JSON.parse(bytes.toString('utf8')) as V)),
  )
}

/** Strings as UTF-8; anything else is an error (no silent `String(x)`). `null` stays null, both ways. */
export function string(): Serde<string | null> {
  return serde<string | null>(
    (value) => {
      if (value === null) return null
      if (typeof value !== 'string') throw new TypeError(`expected a string, got ${typeof value}`)
      return Buffer.from(value, 'utf8')
    },
    (bytes) => (bytes === null ? null : bytes.toString('utf8')),
  )
}

/** Bytes as they are: a Buffer, or any Uint8Array (copied into a Buffer view). `null` stays null. Read back, the Buffer as fetched. */
export function bytes(): Serde<Uint8Array | null> {
  return serde<Uint8Array | null>(
    (value) => {
      if (value === null) return null
      if (Buffer.isBuffer(value)) return value
      if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
      throw new TypeError(`expected bytes (Buffer or Uint8Array), got ${typeof value}`)
    },
    (bytes) => bytes,
  )
}
