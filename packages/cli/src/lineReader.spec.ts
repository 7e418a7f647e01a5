import { describe, expect, it } from 'vitest'
import { LineParseError, lineReaderConfig, lineRecord, parseLine, splitLines } from './lineReader.js'
import { NO_HEADERS } from '@topicflow/core'
import { UsageError } from './args.js'

const config = (entries: Record<string, string>) => lineReaderConfig(new Map(Object.entries(entries)))
const text = (b: Buffer | null) => (b === null ? null : b.toString())

describe('parseLine (Kafka LineMessageReader semantics)', () => {
  it('reads the whole line as the value by default, with no key and no headers', () => {
    const line = parseLine('a\tb', 4, config({}))
    expect([line.lineNumber, line.key, text(line.value)]).toEqual([4, null, 'a\tb'])
    expect(line.headers).toBe(NO_HEADERS)
  })

  it('splits headers, key and value at the first separators; the value keeps later ones', () => {
    const line = parseLine('h1:v1,h2:v:2\tk\tv\twith tab', 1, config({ 'parse.key': 'true', 'parse.headers': 'true' }))
    expect([text(line.key), text(line.value), line.headers]).toEqual(['k', 'v\twith tab', [['h1', 'v1'], ['h2', 'v:2']]])
  })

  it('turns fields equal to null.marker into null; null headers are none', () => {
    const c = config({ 'parse.key': 'true', 'parse.headers': 'true', 'null.marker': 'NULL' })
    const line = parseLine('a:1,a:2\tNULL\tNULL', 1, c)
    expect([line.key, line.value, line.headers]).toEqual([null, null, [['a', '1'], ['a', '2']]])
    expect(parseLine('NULL\tk\tv', 1, c).headers).toBe(NO_HEADERS)
  })

  it('keeps headers in the order of the line, repeated and integer-like names included, as Kafka’s reader adds them', () => {
    const line = parseLine('seq:1,src:a,dup:x,42:y,mid:m,dup:z\tv', 1, config({ 'parse.headers': 'true' }))
    expect(line.headers).toEqual([['seq', '1'], ['src', 'a'], ['dup', 'x'], ['42', 'y'], ['mid', 'm'], ['dup', 'z']])
    expect(text(line.value)).toBe('v')
  })

  it('names the line when a separator is missing, unless ignore.error is set', () => {
    expect(() => parseLine('no tab', 7, config({ 'parse.key': 'true' }))).toThrow(LineParseError)
    expect(() => parseLine('no tab', 7, config({ 'parse.key': 'true' }))).toThrow(/line 7: no key separator/)
    expect(() => parseLine('h1\tv', 2, config({ 'parse.headers': 'true' }))).toThrow(/line 2: no header key separator/)
    const lenient = parseLine('no tab', 7, config({ 'parse.key': 'true', 'ignore.error': 'true' }))
    expect([lenient.key, text(lenient.value)]).toEqual([null, 'no tab'])
  })

  it("refuses null header values (topicflow's record headers cannot carry them) with the line number", () => {
    expect(() => parseLine('h:NULL\tv', 3, config({ 'parse.headers': 'true', 'null.marker': 'NULL' }))).toThrow(/line 3: header "h" would have a null value/)
  })

  it('rejects unknown properties and clashing separators as usage errors, as Kafka does', () => {
    expect(() => config({ 'parse.keys': 'true' })).toThrow(UsageError)
    expect(() => config({ 'parse.key': 'yes' })).toThrow(/parse.key must be true or false/)
    expect(() => config({ 'null.marker': '\t' })).toThrow(/null.marker and key.separator may not be equal/)
    expect(() => config({ 'parse.headers': 'true', 'headers.separator': ':' })).toThrow(/headers.separator and headers.key.separator/)
  })
})

describe('splitLines', () => {
  const split = async (chunks: Array<string | Buffer>): Promise<string[]> => {
    const lines: string[] = []
    for await (const batch of splitLines((async function* () { yield* chunks })())) lines.push(...batch.map((line) => line.toString('utf8')))
    return lines
  }

  it('ends lines at \\n, \\r\\n and a lone \\r, as BufferedReader.readLine does; keeps empty lines; the last needs no ending', async () => {
    expect(await split(['a\nb\r\nc\rd\n\ne'])).toEqual(['a', 'b', 'c', 'd', '', 'e'])
    expect(await split(['a\n'])).toEqual(['a'])
    expect(await split([''])).toEqual([])
    expect(await split([Buffer.from('x\r'), Buffer.from('\n'), Buffer.from('y')])).toEqual(['x', 'y'])
  })

  it('joins lines and \\r\\n pairs split across chunks, and UTF-8 characters split across chunks (bytes never decoded)', async () => {
    expect(await split(['ab', 'c\nd', 'e\r', '\nf\r', 'g'])).toEqual(['abc', 'de', 'f', 'g'])
    const euro = Buffer.from('€uro\n')
    expect(await split([euro.subarray(0, 1), euro.subarray(1, 2), euro.subarray(2)])).toEqual(['€uro'])
  })
})

describe('lineRecord', () => {
  it('takes a line as the value, bytes unchanged, when nothing asks for parsing', () => {
    const bytes = Buffer.from([0x68, 0xc3, 0xa9, 0xff, 0x09, 0x6b])
    const line = lineRecord(bytes, 7, config({}))
    expect(line.value).toBe(bytes)
    expect(line.key).toBeNull()
    expect(line.lineNumber).toBe(7)
  })

  it('parses as parseLine does when parse.key, parse.headers or null.marker is set', () => {
    const keyed = lineRecord(Buffer.from('k\tv'), 1, config({ 'parse.key': 'true' }))
    expect([keyed.key?.toString(), keyed.value?.toString()]).toEqual(['k', 'v'])
    expect(lineRecord(Buffer.from('NULL'), 2, config({ 'null.marker': 'NULL' })).value).toBeNull()
  })
})
