import { NO_HEADERS, TopicflowError, type FetchedRecord, type RecordHeaders } from '@topicflow/core'
import { compressionCodecs, type CompressionCodecName } from '@topicflow/codecs'
import { crc32c } from '@node-rs/crc32'
import {
  ATTRIBUTES_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_BYTES,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_COUNT_OFFSET,
} from './recordBatch.js'

/**
 * Reads the `records` field of a Fetch response: record batches of magic v2 (KIP-98), one after another,
 * into `FetchedRecord`s, the way Java's consumer (`CompletedFetch`) does. One pass over the bytes; keys,
 * values and header values are views of the response (or of a compressed batch's decompressed bytes).
 */

/** An entry of the Fetch response's `aborted_transactions`: a producer whose transaction from `firstOffset` was aborted. */
export interface AbortedTransaction {
  readonly producerId: bigint
  readonly firstOffset: number
}

/** Which partition the bytes belong to, where the fetch started and how transactions are read. */
export interface DecodeOptions {
  readonly topic: string
  readonly partition: number
  /** The fetch position: records before it (a compressed batch that starts earlier) are skipped. */
  readonly fetchOffset: number
  /** isolation.level read_committed: batches of aborted transactions are skipped. */
  readonly readCommitted: boolean
  /** The Fetch response's aborted_transactions for this partition (empty under read_uncommitted). */
  readonly abortedTransactions: readonly AbortedTransaction[]
}

/** The records read from one partition's fetched bytes, and where the next fetch starts. */
export interface DecodedRecords {
  readonly records: FetchedRecord[]
  /** The offset after the last whole batch read (control and aborted batches included), or fetchOffset when none was whole: the next fetch position. */
  readonly nextOffset: number
  /** Bytes of a trailing batch cut short by the fetch size (the broker cuts responses at max bytes), 0 when none. */
  readonly truncatedBytes: number
}

/**
 * Thrown for a batch whose CRC-32C does not match, a magic other than 2, a record that runs past its batch,
 * an unknown compression codec or compressed bytes that do not decompress. Not retriable: fetching the same
 * offset gives the same bytes.
 */
export class CorruptRecordError extends TopicflowError {
  constructor(message: string, context: { readonly topic: string; readonly partition: number; readonly offset: number; readonly cause?: unknown }) {
    super(message, { ...context, retriable: false })
  }
}

/** baseOffset and batchLength: what precedes the part of a batch that `batchLength` counts. */
const LOG_OVERHEAD = 12
/** The smallest `batchLength` of any message format (a v0 message), below which the length itself is corrupt. */
const MIN_MESSAGE_LENGTH = 14

const CODEC_MASK = 0x07
const LOG_APPEND_TIME = 0x08
const TRANSACTIONAL = 0x10
const CONTROL = 0x20
/** Compression codecs by the id in the attributes' bits 0–2; 0 (none) is never looked up. */
const CODEC_NAMES: readonly (CompressionCodecName | undefined)[] = [undefined, 'gzip', 'snappy', 'lz4', 'zstd']
/** A control record's type (the int16 after the version in its key). */
const ABORT_MARKER = 0

/** What a null header value reads as: `RecordHeaders` has no null value. Shared: a Buffer of no bytes cannot be written to. */
const EMPTY_HEADER_VALUE = Buffer.alloc(0)
const NO_ABORTED: readonly AbortedTransaction[] = []

/**
 * Decodes the record batches of one partition's Fetch response. Records before `fetchOffset` and the
 * records of control batches are left out; under `readCommitted`, so are the batches of aborted
 * transactions. A trailing batch cut short is counted in `truncatedBytes`, not an error. Header values
 * are Buffers (views, no copies); a header with a null value reads as an empty Buffer.
 *
 * Throws `CorruptRecordError` naming topic, partition and the batch's base offset for a bad CRC, a magic
 * other than 2, or lengths that do not add up (a record that runs past its batch, say). Only compressed
 * batches wait (for their decompression on the thread pool); the rest is read synchronously.
 */
export async function decodeRecordBatches(data: Buffer, options: DecodeOptions): Promise<DecodedRecords> {
  const { fetchOffset } = options
  const records: FetchedRecord[] = []
  // Java's CompletedFetch: aborted transactions in offset order, each taking effect once the batches reach it.
  // None to track under read_uncommitted, nor when the broker reported none: then no batch is aborted.
  const aborted = options.readCommitted && options.abortedTransactions.length > 0 ? [...options.abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset) : NO_ABORTED
  let nextAborted = 0
  const abortedProducers = new Set<bigint>()
  let nextOffset = fetchOffset
  let at = 0
  for (;;) {
    const remaining = data.length - at
    if (remaining < LOG_OVERHEAD) return { records, nextOffset, truncatedBytes: remaining }
    const baseOffset = readInt64(data, at)
    const batchLength = data.readInt32BE(at + 8)
    if (batchLength < MIN_MESSAGE_LENGTH) throw corrupt(options, baseOffset, `its length ${batchLength} is below any message's`)
    const end = at + LOG_OVERHEAD + batchLength
    if (end > data.length) return { records, nextOffset, truncatedBytes: remaining }
    const magic = data.readInt8(at + MAGIC_OFFSET)
    if (magic !== 2) throw corrupt(options, baseOffset, `its message format (magic ${magic}) is older than v2, which is not read`)
    if (batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD) throw corrupt(options, baseOffset, `its length ${batchLength} is below a v2 batch header's`)
    if (crc32c(data.subarray(at + ATTRIBUTES_OFFSET, end)) >>> 0 !== data.readUInt32BE(at + CRC_OFFSET)) {
      throw corrupt(options, baseOffset, 'its CRC-32C does not match its bytes')
    }

    const attributes = data.readInt16BE(at + ATTRIBUTES_OFFSET)
    const lastOffset = baseOffset + data.readInt32BE(at + LAST_OFFSET_DELTA_OFFSET)
    const control = (attributes & CONTROL) !== 0
    // A batch wholly before the fetch position adds nothing: it is neither decompressed nor read.
    let skipped = control || lastOffset < fetchOffset
    let abortMarkerOf: bigint | undefined
    // Transactions concern only batches with a producer id (>= 0, whose high word is then >= 0).
    if (aborted.length > 0 && data.readInt32BE(at + PRODUCER_ID_OFFSET) >= 0) {
      // Java compares with the batch's last offset: a transaction aborted from within a batch aborts that batch.
      for (let txn = aborted[nextAborted]; txn !== undefined && txn.firstOffset <= lastOffset; txn = aborted[++nextAborted]) abortedProducers.add(txn.producerId)
      const producerId = data.readBigInt64BE(at + PRODUCER_ID_OFFSET)
      if (control) abortMarkerOf = producerId
      else if ((attributes & TRANSACTIONAL) !== 0 && abortedProducers.has(producerId)) skipped = true
    }

    if (!skipped || abortMarkerOf !== undefined) {
      const count = data.readInt32BE(at + RECORD_COUNT_OFFSET)
      const codec = attributes & CODEC_MASK
      let body = data
      let bodyStart = at + BATCH_HEADER_BYTES
      let bodyEnd = end
      if (codec !== 0) {
        body = await decompress(data.subarray(bodyStart, end), codec, options, baseOffset)
        bodyStart = 0
        bodyEnd = body.length
      }
      if (abortMarkerOf !== undefined) {
        if (count > 0 && isAbortMarker(body, bodyStart, bodyEnd, options, baseOffset)) abortedProducers.delete(abortMarkerOf)
      } else {
        const logAppendTime = (attributes & LOG_APPEND_TIME) !== 0
        readRecords(records, body, bodyStart, bodyEnd, count, {
          baseOffset,
          leaderEpoch: data.readInt32BE(at + PARTITION_LEADER_EPOCH_OFFSET),
          baseTimestamp: readInt64(data, at + BASE_TIMESTAMP_OFFSET),
          appendTime: logAppendTime ? readInt64(data, at + MAX_TIMESTAMP_OFFSET) : undefined,
          fetchOffset,
          options,
        })
      }
    }
    nextOffset = lastOffset + 1
    at = end
  }
}

/** What `readRecords` needs of the batch, one object per batch. */
interface BatchContext {
  readonly baseOffset: number
  readonly leaderEpoch: number
  readonly baseTimestamp: number
  /** The batch's maxTimestamp when it uses LogAppendTime: then every record's timestamp. */
  readonly appendTime: number | undefined
  readonly fetchOffset: number
  readonly options: DecodeOptions
}

/**
 * Appends the records of one batch's records section (`data[at..end)`) to `out`. The hot loop: varints are
 * read in place with the local `at` (zigzag, as Kafka writes them), and every record is one object literal
 * of one shape, so that V8 keeps one hidden class for all of them.
 */
function readRecords(out: FetchedRecord[], data: Buffer, at: number, end: number, count: number, batch: BatchContext): void {
  const { baseOffset, leaderEpoch, baseTimestamp, appendTime, fetchOffset, options } = batch
  const { topic, partition } = options
  const timestampType = appendTime === undefined ? 'CreateTime' : 'LogAppendTime'
  // The name last decoded at each header position, with where its bytes were: records of a batch
  // mostly carry the same names, and comparing the bytes costs less than decoding them into a new string
  // (a fifth less CPU time in all for records with two headers, measured).
  const names: string[] = []
  const nameStarts: number[] = []
  const nameLengths: number[] = []
  let b = 0
  let raw = 0
  for (let i = 0; i < count; i++) {
    b = data[at++]!
    raw = b & 0x7f
    for (let shift = 7; b > 0x7f; shift += 7) raw |= ((b = data[at++]!) & 0x7f) << shift
    const recordEnd = at + ((raw >>> 1) ^ -(raw & 1))
    if (recordEnd > end) throw corrupt(options, baseOffset, `record ${i} runs past the batch's end`)
    at++ // record attributes: unused

    // The timestamp delta is a varlong; doubles hold it exactly (|delta| < 2^53), int32 arithmetic would not.
    b = data[at++]!
    let zigzag = b & 0x7f
    for (let scale = 128; b > 0x7f; scale *= 128) zigzag += ((b = data[at++]!) & 0x7f) * scale
    const timestampDelta = zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2

    b = data[at++]!
    raw = b & 0x7f
    for (let shift = 7; b > 0x7f; shift += 7) raw |= ((b = data[at++]!) & 0x7f) << shift
    const offset = baseOffset + ((raw >>> 1) ^ -(raw & 1))

    b = data[at++]!
    raw = b & 0x7f
    for (let shift = 7; b > 0x7f; shift += 7) raw |= ((b = data[at++]!) & 0x7f) << shift
    const keyLength = (raw >>> 1) ^ -(raw & 1)
    let key: Buffer | null = null
    if (keyLength >= 0) {
      key = data.subarray(at, at + keyLength)
      at += keyLength
    }

    b = data[at++]!
    raw = b & 0x7f
    for (let shift = 7; b > 0x7f; shift += 7) raw |= ((b = data[at++]!) & 0x7f) << shift
    const valueLength = (raw >>> 1) ^ -(raw & 1)
    let value: Buffer | null = null
    if (valueLength >= 0) {
      value = data.subarray(at, at + valueLength)
      at += valueLength
    }

    b = data[at++]!
    raw = b & 0x7f
    for (let shift = 7; b > 0x7f; shift += 7) raw |= ((b = data[at++]!) & 0x7f) << shift
    const headerCount = (raw >>> 1) ^ -(raw & 1)
    let headers: RecordHeaders = NO_HEADERS
    if (headerCount > 0) {
      const list: Array<readonly [string, Buffer]> = []
      for (let h = 0; h < headerCount; h++) {
        // A corrupt count must not spin for billions of headers.
        if (at >= recordEnd) throw corrupt(options, baseOffset, `record ${i}'s headers run past the record`)
        b = data[at++]!
        raw = b & 0x7f
        for (let shift = 7; b > 0x7f; shift += 7) raw |= ((b = data[at++]!) & 0x7f) << shift
        const nameLength = (raw >>> 1) ^ -(raw & 1)
        // A negative length would move `at` back, and so could spin on the same bytes for every header counted.
        if (nameLength < 0) throw corrupt(options, baseOffset, `record ${i}'s header ${h} has a negative name length`)
        let name = names[h]
        if (name === undefined || nameLengths[h] !== nameLength || !sameBytes(data, nameStarts[h]!, at, nameLength)) {
          name = data.toString('utf8', at, at + nameLength)
          names[h] = name
          nameStarts[h] = at
          nameLengths[h] = nameLength
        }
        at += nameLength
        b = data[at++]!
        raw = b & 0x7f
        for (let shift = 7; b > 0x7f; shift += 7) raw |= ((b = data[at++]!) & 0x7f) << shift
        const headerLength = (raw >>> 1) ^ -(raw & 1)
        let headerValue: Buffer = EMPTY_HEADER_VALUE
        if (headerLength >= 0) {
          headerValue = data.subarray(at, at + headerLength)
          at += headerLength
        }
        list.push([name, headerValue])
      }
      headers = list
    }
    // Java's check: the fields must fill the record's length exactly, else the lengths read are garbage.
    if (at !== recordEnd) throw corrupt(options, baseOffset, `record ${i}'s fields do not match its length`)

    if (offset < fetchOffset) continue
    out.push({
      topic,
      partition,
      offset,
      leaderEpoch,
      timestamp: appendTime === undefined ? baseTimestamp + timestampDelta : appendTime,
      timestampType,
      key,
      value,
      headers,
    })
  }
  // Java's check too: bytes left after the records counted mean the count is wrong.
  if (at !== end) throw corrupt(options, baseOffset, `it holds more bytes than its ${count} records`)
}

/** Whether the `length` bytes at `a` and at `b` are the same. */
function sameBytes(data: Buffer, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (data[a + k] !== data[b + k]) return false
  return true
}

/** Whether a control batch's first record is an ABORT marker (its key: int16 version, int16 type). */
function isAbortMarker(data: Buffer, at: number, end: number, options: DecodeOptions, baseOffset: number): boolean {
  at = varintEnd(data, at) // record length
  at = varintEnd(data, at + 1) // attributes, then the timestamp delta
  at = varintEnd(data, at) // offset delta
  // The key's length: as Java, at least a version and a type (later versions may add fields after them).
  let b = data[at++]!
  let raw = b & 0x7f
  for (let shift = 7; b > 0x7f; shift += 7) raw |= ((b = data[at++]!) & 0x7f) << shift
  if (((raw >>> 1) ^ -(raw & 1)) < 4 || at + 4 > end) throw corrupt(options, baseOffset, "its control record's key is not a version and a type")
  return data.readInt16BE(at + 2) === ABORT_MARKER
}

/** The position after the varint at `at`. */
function varintEnd(data: Buffer, at: number): number {
  while (data[at]! > 0x7f) at++
  return at + 1
}

async function decompress(compressed: Buffer, codec: number, options: DecodeOptions, baseOffset: number): Promise<Buffer> {
  const name = CODEC_NAMES[codec]
  if (name === undefined) throw corrupt(options, baseOffset, `its compression codec id ${codec} is unknown`)
  try {
    return await compressionCodecs[name].decompress(compressed)
  } catch (cause) {
    throw corrupt(options, baseOffset, `its ${name} data does not decompress`, cause)
  }
}

function corrupt(options: DecodeOptions, baseOffset: number, why: string, cause?: unknown): CorruptRecordError {
  const { topic, partition } = options
  return new CorruptRecordError(`Corrupt record batch at offset ${baseOffset} of ${topic}-${partition}: ${why}`, { topic, partition, offset: baseOffset, cause })
}

/** An int64 as a number: exact for offsets and timestamps (below 2^53); the high word signed, so -1 reads as -1. */
function readInt64(data: Buffer, at: number): number {
  return data.readInt32BE(at) * 4294967296 + data.readUInt32BE(at + 4)
}
