import { NO_HEADERS, TopicflowError, type RecordHeader, type RecordHeaders } from '@topicflow/core'
import { UsageError } from './args.js'

/** kafka-console-producer's reader properties (`--property`), with its defaults. */
export interface LineReaderConfig {
  /** `parse.key`: each line is `key<key.separator>value`. Default false. */
  readonly parseKey: boolean
  /** `key.separator`. Default a tab. */
  readonly keySeparator: string
  /** `parse.headers`: each line starts with `h1:v1,h2:v2<headers.delimiter>`. Default false. */
  readonly parseHeaders: boolean
  /** `headers.delimiter`. Default a tab. */
  readonly headersDelimiter: string
  /** `headers.separator`. Default `,`. */
  readonly headersSeparator: string
  /** `headers.key.separator`. Default `:`. */
  readonly headersKeySeparator: string
  /** `null.marker`: a key, value or header value equal to it becomes null. Default none. */
  readonly nullMarker: string | undefined
  /** `ignore.error`: a line without a separator keeps going (null key, or the pair as a header key). Default false. */
  readonly ignoreError: boolean
}

/** One line of input, parsed: what becomes one record. Errors and reports describe it by its line number. */
export class ConsoleLine {
  constructor(
    /** 1-based line number in the input. */
    readonly lineNumber: number,
    readonly key: Buffer | null,
    readonly value: Buffer | null,
    /** In the line's order, repeats included, as Kafka's reader adds them to the record. */
    readonly headers: RecordHeaders,
  ) {}

  /** The same line with another key. */
  withKey(key: Buffer | null): ConsoleLine {
    return new ConsoleLine(this.lineNumber, key, this.value, this.headers)
  }

  /** How error messages show the line: by number, not by its (possibly large) bytes. */
  toJSON(): { line: number } {
    return { line: this.lineNumber }
  }
}

/** A line that cannot become a record (no separator, a bad header, JSON that does not parse). Names the line. */
export class LineParseError extends TopicflowError {
  constructor(
    readonly lineNumber: number,
    reason: string,
  ) {
    super(`line ${lineNumber}: ${reason}`)
  }
}

const READER_PROPERTIES = ['parse.key', 'key.separator', 'parse.headers', 'headers.delimiter', 'headers.separator', 'headers.key.separator', 'null.marker', 'ignore.error']

/** The reader's configuration from `--property` entries; unknown names and clashing separators are usage errors. */
export function lineReaderConfig(properties: ReadonlyMap<string, string>): LineReaderConfig {
  for (const name of properties.keys()) {
    if (!READER_PROPERTIES.includes(name)) throw new UsageError(`unknown --property ${name} (known: ${READER_PROPERTIES.join(', ')})`)
  }
  const flag = (name: string): boolean => {
    const value = properties.get(name)?.trim().toLowerCase()
    if (value === undefined) return false
    if (value !== 'true' && value !== 'false') throw new UsageError(`--property ${name} must be true or false, got ${JSON.stringify(value)}`)
    return value === 'true'
  }
  const text = (name: string, fallback: string): string => {
    const value = properties.get(name) ?? fallback
    if (value === '') throw new UsageError(`--property ${name} must not be empty`)
    return value
  }
  const config: LineReaderConfig = {
    parseKey: flag('parse.key'),
    keySeparator: text('key.separator', '\t'),
    parseHeaders: flag('parse.headers'),
    headersDelimiter: text('headers.delimiter', '\t'),
    headersSeparator: text('headers.separator', ','),
    headersKeySeparator: text('headers.key.separator', ':'),
    nullMarker: properties.get('null.marker'),
    ignoreError: flag('ignore.error'),
  }
  // The same checks as Kafka's LineMessageReader: equal separators make lines ambiguous.
  const mustDiffer = (a: string, aValue: string, b: string, bValue: string): void => {
    if (aValue === bValue) throw new UsageError(`--property ${a} and ${b} may not be equal`)
  }
  if (config.parseHeaders) {
    mustDiffer('headers.delimiter', config.headersDelimiter, 'headers.separator', config.headersSeparator)
    mustDiffer('headers.delimiter', config.headersDelimiter, 'headers.key.separator', config.headersKeySeparator)
    mustDiffer('headers.separator', config.headersSeparator, 'headers.key.separator', config.headersKeySeparator)
  }
  if (config.nullMarker !== undefined) {
    if (config.nullMarker === '') throw new UsageError('--property null.marker must not be empty')
    mustDiffer('null.marker', config.nullMarker, 'key.separator', config.keySeparator)
    mustDiffer('null.marker', config.nullMarker, 'headers.delimiter', config.headersDelimiter)
    mustDiffer('null.marker', config.nullMarker, 'headers.separator', config.headersSeparator)
    mustDiffer('null.marker', config.nullMarker, 'headers.key.separator', config.headersKeySeparator)
  }
  return config
}

/**
 * Parses one line as Kafka's `LineMessageReader` does: optional headers, optional key, the rest is the
 * value; fields equal to `null.marker` become null. Throws `LineParseError` naming the line.
 *
 * @example
 * parseLine('k1\tv1', 1, lineReaderConfig(new Map([['parse.key', 'true']])))   // key "k1", value "v1"
 */
export function parseLine(line: string, lineNumber: number, config: LineReaderConfig): ConsoleLine {
  let offset = 0
  let headerText: string | undefined
  if (config.parseHeaders) {
    headerText = fieldBefore(line, offset, config.headersDelimiter, 'headers delimiter', lineNumber, config)
    if (headerText !== undefined) offset += headerText.length + config.headersDelimiter.length
  }
  let keyText: string | undefined
  if (config.parseKey) {
    keyText = fieldBefore(line, offset, config.keySeparator, 'key separator', lineNumber, config)
    if (keyText !== undefined) offset += keyText.length + config.keySeparator.length
  }
  const valueText = line.slice(offset)
  return new ConsoleLine(
    lineNumber,
    keyText === undefined || keyText === config.nullMarker ? null : Buffer.from(keyText, 'utf8'),
    valueText === config.nullMarker ? null : Buffer.from(valueText, 'utf8'),
    headerText === undefined || headerText === config.nullMarker ? NO_HEADERS : parseHeaders(headerText, lineNumber, config),
  )
}

function fieldBefore(line: string, start: number, separator: string, what: string, lineNumber: number, config: LineReaderConfig): string | undefined {
  const index = line.indexOf(separator, start)
  if (index >= 0) return line.slice(start, index)
  if (config.ignoreError) return undefined
  throw new LineParseError(lineNumber, `no ${what} ${JSON.stringify(what === 'key separator' ? config.keySeparator : config.headersDelimiter)} found in ${JSON.stringify(line)}`)
}

function parseHeaders(text: string, lineNumber: number, config: LineReaderConfig): RecordHeaders {
  const headers: RecordHeader[] = []
  for (const pair of javaSplit(text, config.headersSeparator)) {
    const index = pair.indexOf(config.headersKeySeparator)
    if (index < 0 && !config.ignoreError) {
      throw new LineParseError(lineNumber, `no header key separator ${JSON.stringify(config.headersKeySeparator)} in pair ${JSON.stringify(pair)}`)
    }
    const name = index < 0 ? pair : pair.slice(0, index)
    const value = index < 0 ? null : pair.slice(index + config.headersKeySeparator.length)
    if (name === config.nullMarker) throw new LineParseError(lineNumber, `header keys may not equal the null marker ${JSON.stringify(config.nullMarker)}: they cannot be null`)
    if (value === null || value === config.nullMarker) {
      // topicflow's record headers carry bytes or strings (RecordHeaders), and the kafkajs transport could not write a null.
      throw new LineParseError(lineNumber, `header ${JSON.stringify(name)} would have a null value, which topicflow's record headers cannot carry`)
    }
    headers.push([name, value])
  }
  return headers
}

/** Java's `String.split` with a literal separator: trailing empty strings are dropped; no match keeps the whole text. */
function javaSplit(text: string, separator: string): string[] {
  const parts = text.split(separator)
  if (parts.length === 1) return parts
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop()
  return parts
}

/**
 * The record for one line of bytes. With a property that asks for parsing (`parse.key`, `parse.headers`,
 * `null.marker`) the line is parsed as `parseLine` does; otherwise the line's bytes are the value as they
 * are, without decoding and encoding again (malformed UTF-8 then passes through unchanged, where Java's
 * reader would substitute U+FFFD).
 */
export function lineRecord(bytes: Buffer, lineNumber: number, config: LineReaderConfig): ConsoleLine {
  if (!config.parseKey && !config.parseHeaders && config.nullMarker === undefined) return new ConsoleLine(lineNumber, null, bytes, NO_HEADERS)
  return parseLine(bytes.toString('utf8'), lineNumber, config)
}

const LF = 10
const CR = 13

/**
 * The lines of a byte stream, as Java's `BufferedReader.readLine` (kafka-console-producer's reader) reads
 * them: ended by `\n`, `\r\n` or a lone `\r`, the last one with or without an ending. Lines are views of
 * the chunks read (copied only when a line spans two), and the lines of each chunk come as one array: one
 * await per chunk, not per line. Several times faster than node:readline, whose per-line events, regular
 * expression and decoding were a tenth of `topicflow produce`'s CPU.
 */
export async function* splitLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer[]> {
  let carry: Buffer | undefined
  // A chunk ending in '\r' may be half of a '\r\n': its line is out, and a '\n' opening the next chunk is skipped.
  let skipNewline = false
  for await (const piece of input) {
    let chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece
    if (skipNewline && chunk[0] === LF) chunk = chunk.subarray(1)
    skipNewline = false
    const lines: Buffer[] = []
    let start = 0
    // Each kind of ending is searched for again only once passed: no rescans of the chunk per line.
    let newline = chunk.indexOf(LF)
    let cr = chunk.indexOf(CR)
    for (;;) {
      if (newline >= 0 && newline < start) newline = chunk.indexOf(LF, start)
      if (cr >= 0 && cr < start) cr = chunk.indexOf(CR, start)
      const end = cr >= 0 && (newline < 0 || cr < newline) ? cr : newline
      if (end < 0) break
      const line = chunk.subarray(start, end)
      lines.push(carry === undefined ? line : Buffer.concat([carry, line]))
      carry = undefined
      if (end === cr && chunk[end + 1] === LF) start = end + 2
      else {
        start = end + 1
        if (end === cr && end === chunk.length - 1) skipNewline = true
      }
    }
    if (start < chunk.length) carry = carry === undefined ? chunk.subarray(start) : Buffer.concat([carry, chunk.subarray(start)])
    if (lines.length > 0) yield lines
  }
  if (carry !== undefined) yield [carry]
}
