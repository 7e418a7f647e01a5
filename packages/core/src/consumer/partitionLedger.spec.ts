import { describe, expect, it } from 'vitest'
import { NO_HEADERS } from '../records.js'
import { Consumed } from './consumedRecord.js'
import { PartitionLedger } from './partitionLedger.js'

const owner = { settle: () => undefined }
const record = (ledger: PartitionLedger, offset: number): Consumed<null, null> =>
  new Consumed({ topic: 't', partition: 0, offset, leaderEpoch: 3, timestamp: 0, timestampType: 'CreateTime', key: null, value: null, headers: NO_HEADERS }, null, null, ledger)

describe('PartitionLedger', () => {
  it('commits one past the last done record with every earlier one done, in offset order', () => {
    const ledger = new PartitionLedger('t', 0, owner)
    const [a, b, c] = [10, 11, 12].map((offset) => record(ledger, offset)) as [Consumed<null, null>, Consumed<null, null>, Consumed<null, null>]
    for (const r of [a, b, c]) {
      ledger.track(r)
      r.sealed = true
      r.outputs = 1
    }
    // The later two are delivered first: nothing may be committed past the first.
    b.settled = 1
    c.settled = 1
    expect(ledger.advance()).toBe(false)
    expect(ledger.takeCommit()).toBeUndefined()
    a.settled = 1
    expect(ledger.advance()).toBe(true)
    expect(ledger.takeCommit()).toEqual({ topic: 't', partition: 0, offset: 13, leaderEpoch: 3 })
    expect(ledger.inFlight).toBe(0)
  })

  it('passes a sealed record with no outputs (filtered) and stops at one not sealed', () => {
    const ledger = new PartitionLedger('t', 0, owner)
    const filtered = record(ledger, 0)
    const open = record(ledger, 1)
    ledger.track(filtered)
    ledger.track(open)
    filtered.sealed = true
    expect(ledger.advance()).toBe(true)
    expect(ledger.takeCommit()?.offset).toBe(1)
    expect(ledger.inFlight).toBe(1)
  })

  it('takes an offset once, and gives it back after a failed commit with the records it covered', () => {
    const ledger = new PartitionLedger('t', 0, owner)
    const r = record(ledger, 5)
    ledger.track(r)
    r.sealed = true
    ledger.advance()
    expect(ledger.passedSinceTake).toBe(1)
    const taken = ledger.takeCommit()!
    expect(ledger.takeCommit()).toBeUndefined()
    ledger.untake(taken, 1)
    expect(ledger.passedSinceTake).toBe(1)
    expect(ledger.takeCommit()).toEqual(taken)
  })
})
