/**
 * Kafka's protocol primitives (big-endian fixed-width integers, int16-length strings, int32-length
 * bytes and arrays) for the non-flexible message versions this transport speaks, and the request frame.
 */

/** Writes primitives into a buffer that grows as needed; for requests other than the record batches. */
export class Writer {
  #buffer: Buffer
  #offset = 0

  constructor(capacity = 256) {
    this.#buffer = Buffer.allocUnsafe(capacity)
  }

  #ensure(bytes: number): void {
    if (this.#offset + bytes <= this.#buffer.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#offset + bytes))
    this.#buffer.copy(grown, 0, 0, this.#offset)
    this.#buffer = grown
  }

  int8(value: number): this {
    this.#ensure(1)
    this.#offset = this.#buffer.writeInt8(value, this.#offset)
    return this
  }

  boolean(value: boolean): this {
    return this.int8(value ? 1 : 0)
  }

  int16(value: number): this {
    this.#ensure(2)
    this.#offset = this.#buffer.writeInt16BE(value, this.#offset)
    return this
  }

  int32(value: number): this {
    this.#ensure(4)
    this.#offset = this.#buffer.writeInt32BE(value, this.#offset)
    return this
  }

  int64(value: bigint): this {
    this.#ensure(8)
    this.#offset = this.#buffer.writeBigInt64BE(value, this.#offset)
    return this
  }

  /** A nullable string: int16 length (-1 for null), then UTF-8. */
  string(value: string | null): this {
    if (value === null) return this.int16(-1)
    const length = Buffer.byteLength(value)
    this.int16(length)
    this.#ensure(length)
    this.#offset += this.#buffer.write(value, this.#offset)
    return this
  }

  /** Nullable bytes: int32 length (-1 for null), then the bytes. */
  bytes(value: Uint8Array | null): this {
    if (value === null) return this.int32(-1)
    this.int32(value.length)
    this.#ensure(value.length)
    this.#buffer.set(value, this.#offset)
    this.#offset += value.length
    return this
  }

  array<T>(items: readonly T[] | null, write: (item: T, writer: this) => void): this {
    if (items === null) return this.int32(-1)
    this.int32(items.length)
    for (const item of items) write(item, this)
    return this
  }

  /** The bytes written so far (a view, not a copy). */
  toBuffer(): Buffer {
    return this.#buffer.subarray(0, this.#offset)
  }
}

/** Thrown when a response is shorter than its fields say: a protocol mismatch, never retried blindly. */
export class TruncatedResponseError extends Error {}

/** Reads primitives from a response body. */
export class Reader {
  #offset: number

  constructor(
    readonly buffer: Buffer,
    offset = 0,
  ) {
    this.#offset = offset
  }

  #take(bytes: number): number {
    const at = this.#offset
    if (at + bytes > this.buffer.length) throw new TruncatedResponseError(`response ends at byte ${this.buffer.length}, field needs ${at + bytes}`)
    this.#offset += bytes
    return at
  }

  int8(): number {
    return this.buffer.readInt8(this.#take(1))
  }

  boolean(): boolean {
    return this.int8() !== 0
  }

  int16(): number {
    return this.buffer.readInt16BE(this.#take(2))
  }

  int32(): number {
    return this.buffer.readInt32BE(this.#take(4))
  }

  /** An int64 as a number: offsets and times stay far below 2^53. */
  int64(): number {
    return Number(this.buffer.readBigInt64BE(this.#take(8)))
  }

  int64Big(): bigint {
    return this.buffer.readBigInt64BE(this.#take(8))
  }

  string(): string | null {
    const length = this.int16()
    if (length < 0) return null
    const at = this.#take(length)
    return this.buffer.toString('utf8', at, at + length)
  }

  bytes(): Buffer | null {
    const length = this.int32()
    if (length < 0) return null
    const at = this.#take(length)
    return this.buffer.subarray(at, at + length)
  }

  array<T>(read: (reader: this) => T): T[] {
    const length = this.int32()
    const items: T[] = []
    for (let i = 0; i < length; i++) items.push(read(this))
    return items
  }
}

/**
 * A request frame: int32 size, then request header v1 (api key, version, correlation id, client id),
 * then the body's parts, returned as parts so that large record batches are written without a copy.
 */
export function requestFrame(apiKey: number, apiVersion: number, correlationId: number, clientId: string, body: readonly Buffer[]): Buffer[] {
  const header = new Writer(64).int32(0).int16(apiKey).int16(apiVersion).int32(correlationId).string(clientId).toBuffer()
  let size = header.length - 4
  for (const part of body) size += part.length
  header.writeInt32BE(size, 0)
  return [header, ...body]
}
