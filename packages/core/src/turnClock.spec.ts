import { afterEach, describe, expect, it, vi } from 'vitest'
import { TurnClock } from './turnClock.js'

describe('TurnClock', () => {
  afterEach(() => vi.restoreAllMocks())

  it('reads the clock once for up to readsPerTick calls of one turn', () => {
    let time = 1000
    const now = vi.spyOn(Date, 'now').mockImplementation(() => time++)
    const clock = new TurnClock(3)
    expect([clock.now(), clock.now(), clock.now(), clock.now()]).toEqual([1000, 1000, 1000, 1001])
    expect(now).toHaveBeenCalledTimes(2)
  })

  it('reads it again in the next turn, however few calls came before', async () => {
    let time = 1000
    vi.spyOn(Date, 'now').mockImplementation(() => time++)
    const clock = new TurnClock()
    expect(clock.now()).toBe(1000)
    await Promise.resolve()
    expect(clock.now()).toBe(1001)
    await new Promise((resolve) => setImmediate(resolve))
    expect(clock.now()).toBe(1002)
    expect(clock.now()).toBe(1002)
  })
})
