import { describe, expect, it } from 'vitest'
import { lastHeader, NO_HEADERS, recordHeaders, recordSizeBytes, type RecordHeaders } from './records.js'

describe('recordSizeBytes', () => {
  it('counts every header of the list, repeats included, in UTF-8 bytes, with Java’s framing estimate', () => {
    const headers: RecordHeaders = [['dup', 'x'], ['42', Buffer.alloc(5)], ['dup', 'ünï'], ['', '']]
    const key = Buffer.from('key')
    const value = Buffer.alloc(100)
    // 21 for the record, 10 per header, then the bytes: 'ünï' is 5 bytes in UTF-8.
    expect(recordSizeBytes({ key, value, headers })).toBe(21 + 3 + 100 + (10 + 3 + 1) + (10 + 2 + 5) + (10 + 3 + 5) + (10 + 0 + 0))
  })

  it('adds nothing for a record without headers', () => {
    expect(recordSizeBytes({ key: null, value: null, headers: NO_HEADERS })).toBe(21)
  })
})

describe('recordHeaders', () => {
  it('returns a list as it is and an object as its entries, array values spread in place', () => {
    const list: RecordHeaders = [['b', '1'], ['42', '2'], ['b', '3']]
    expect(recordHeaders(list)).toBe(list)
    expect(recordHeaders({ b: ['1', '3'], a: Buffer.from('2') })).toEqual([['b', '1'], ['b', '3'], ['a', Buffer.from('2')]])
    expect(recordHeaders({})).toBe(NO_HEADERS)
    expect(recordHeaders([])).toBe(NO_HEADERS)
  })

  it('names what is wrong: a value that is neither string nor Buffer, a pair that is not one, headers that are neither', () => {
    expect(() => recordHeaders({ n: 1 as unknown as string })).toThrow(/header "n" must be a string or a Buffer.*got 1/)
    expect(() => recordHeaders([['n', null as unknown as string]])).toThrow(/header "n".*null/)
    expect(() => recordHeaders([['n', 'v', 'w'] as unknown as readonly [string, string]])).toThrow(/\[name, value\] pair/)
    expect(() => recordHeaders('n:v' as unknown as RecordHeaders)).toThrow(TypeError)
  })
})

describe('lastHeader', () => {
  it('finds the last value of a name, as Java’s Headers.lastHeader does', () => {
    const headers: RecordHeaders = [['dup', 'x'], ['mid', 'm'], ['dup', 'z']]
    expect(lastHeader(headers, 'dup')).toBe('z')
    expect(lastHeader(headers, 'mid')).toBe('m')
    expect(lastHeader(headers, 'none')).toBeUndefined()
  })
})
