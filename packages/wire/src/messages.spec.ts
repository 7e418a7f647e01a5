import { describe, expect, it } from 'vitest'
import { Reader, Writer } from './protocol.js'
import { readProduce } from './messages.js'

/** A Produce answer for topic `t` as a broker writes it at `version`: two partitions, the second refused, then throttle_time_ms. */
function produceAnswer(version: 7 | 8): Reader {
  const partitions = [
    { partition: 0, errorCode: 0, baseOffset: 100n },
    { partition: 1, errorCode: 87, baseOffset: -1n },
  ]
  const body = new Writer()
    .array(['t'], (topic, w) =>
      w.string(topic).array(partitions, (p, pw) => {
        pw.int32(p.partition).int16(p.errorCode).int64(p.baseOffset).int64(-1n).int64(0n)
        if (version >= 8) pw.array(p.errorCode === 0 ? [] : [3], (index, ew) => ew.int32(index).string('bad timestamp')).string(p.errorCode === 0 ? null : 'one record is invalid')
      }),
    )
    .int32(7) // throttle_time_ms
    .toBuffer()
  return new Reader(body)
}

describe('readProduce', () => {
  it('reads a v8 answer with its record errors and message', () => {
    const body = produceAnswer(8)
    expect(readProduce(body, 8)).toEqual([
      { topic: 't', partition: 0, errorCode: 0, baseOffset: 100, logAppendTime: -1, errorMessage: null },
      { topic: 't', partition: 1, errorCode: 87, baseOffset: -1, logAppendTime: -1, errorMessage: 'one record is invalid; record 3: bad timestamp' },
    ])
    expect(body.int32()).toBe(7)
  })

  it('reads a v7 answer, which has neither, up to the throttle time', () => {
    const body = produceAnswer(7)
    expect(readProduce(body, 7)).toEqual([
      { topic: 't', partition: 0, errorCode: 0, baseOffset: 100, logAppendTime: -1, errorMessage: null },
      { topic: 't', partition: 1, errorCode: 87, baseOffset: -1, logAppendTime: -1, errorMessage: null },
    ])
    expect(body.int32()).toBe(7)
  })
})
