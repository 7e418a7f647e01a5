import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { NO_HEADERS, type RecordHeaders } from '@topicflow/core'
import { RECORD_BATCH_OVERHEAD_BYTES } from '@topicflow/core/internal'
import { encodeRecordBatch } from '@topicflow/wire'
import { kafkajsHeaders } from './directSession.js'

// kafkajs's own record encoder, the one its producer calls with each message's headers object.
const require = createRequire(import.meta.url)
const encodeKafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (record: { key: Buffer | null; value: Buffer | null; headers?: unknown }) => { buffer: Buffer }

/** The bytes kafkajs writes for a record with these headers, against the wire transport's for `expected` (which keeps any order). */
async function kafkajsAndWire(given: RecordHeaders, expected: RecordHeaders): Promise<[Buffer, Buffer]> {
  const key = Buffer.from('k')
  const value = Buffer.from('v')
  const ours = await encodeRecordBatch([{ key, value, headers: expected, timestamp: 0 }], 'none', undefined)
  return [encodeKafkajsRecord({ key, value, headers: kafkajsHeaders(given) }).buffer, ours.subarray(RECORD_BATCH_OVERHEAD_BYTES)]
}

describe('kafkajsHeaders', () => {
  it('makes kafkajs write names in the order they first come, integer-like ones included', async () => {
    const headers: RecordHeaders = [['seq', '1'], ['src', 'a'], ['42', 'y'], ['mid', Buffer.from('m')], ['7', 'ü']]
    expect(Object.keys(kafkajsHeaders(headers)!)).toEqual(['seq', 'src', '42', 'mid', '7'])
    const [kafkajsBytes, wireBytes] = await kafkajsAndWire(headers, headers)
    expect(kafkajsBytes.toString('hex')).toBe(wireBytes.toString('hex'))
  })

  it("keeps a name's repeats in order, but together at its first place: kafkajs takes one array per name", async () => {
    const given: RecordHeaders = [['seq', '1'], ['dup', 'x'], ['42', 'y'], ['mid', 'm'], ['dup', 'z']]
    const grouped: RecordHeaders = [['seq', '1'], ['dup', 'x'], ['dup', 'z'], ['42', 'y'], ['mid', 'm']]
    const [kafkajsBytes, wireBytes] = await kafkajsAndWire(given, grouped)
    expect(kafkajsBytes.toString('hex')).toBe(wireBytes.toString('hex'))
  })

  it('lists headers set on it later after the record’s own, as instrumentation-kafkajs sets traceparent', () => {
    const headers = kafkajsHeaders([['b', '1'], ['42', '2']])!
    headers.traceparent = '00-…'
    headers['7'] = 'x'
    headers.b = 'again'
    expect(Object.keys(headers)).toEqual(['b', '42', 'traceparent', '7'])
    delete headers['42']
    headers['42'] = 'back'
    expect(Object.keys(headers)).toEqual(['b', 'traceparent', '7', '42'])
  })

  it('gives kafkajs no headers object for a record without headers', () => {
    expect(kafkajsHeaders(NO_HEADERS)).toBeUndefined()
  })
})
