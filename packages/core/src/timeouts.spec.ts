import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { TopicflowError } from './errors.js'
import { deadlinePassed, untilDeadline, withTimeout } from './timeouts.js'

// Fake timers move Date.now() too, so the deadlines below are exact and nothing waits on the wall clock.
beforeEach(() => {
  vi.useFakeTimers({ now: 0 })
})
afterEach(() => {
  vi.useRealTimers()
})

const retriable = (n: number) => new TopicflowError(`attempt ${n}`, { retriable: true })

describe('untilDeadline', () => {
  it('tries again after a retriable error, waiting out the backoff, until an attempt resolves', async () => {
    const started: number[] = []
    const result = untilDeadline({
      timeoutMs: 10_000,
      backoff: (n) => n * 100,
      attempt: async (_deadline, n) => {
        started.push(Date.now())
        if (n < 3) throw retriable(n)
        return 'done'
      },
      onDeadline: () => new Error('deadline'),
    })
    await vi.runAllTimersAsync()
    await expect(result).resolves.toBe('done')
    expect(started).toEqual([0, 100, 300])
  })

  it('rejects at once with an error that is not retriable', async () => {
    const fatal = new TopicflowError('refused', { retriable: false })
    const attempt = vi.fn(async () => Promise.reject(fatal))
    await expect(untilDeadline({ timeoutMs: 10_000, backoff: () => 100, attempt, onDeadline: () => new Error('deadline') })).rejects.toBe(fatal)
    expect(attempt).toHaveBeenCalledTimes(1)
  })

  it('asks `retriable` which errors are worth another try', async () => {
    const attempt = vi.fn(async () => Promise.reject(retriable(1)))
    const result = untilDeadline({ timeoutMs: 10_000, backoff: () => 100, attempt, retriable: () => false, onDeadline: () => new Error('deadline') })
    await expect(result).rejects.toThrow('attempt 1')
    expect(attempt).toHaveBeenCalledTimes(1)
  })

  it('gives the deadline to each attempt, never waits past it, and rejects with onDeadline(last error) once it has passed', async () => {
    const seen: Array<[number, number]> = []
    const result = untilDeadline({
      timeoutMs: 1_000,
      backoff: () => 400,
      attempt: async (deadline, n) => {
        seen.push([Date.now(), deadline])
        throw retriable(n)
      },
      onDeadline: (lastError) => new Error(`gave up after ${(lastError as Error).message}`),
    })
    const outcome = result.catch((error: unknown) => error)
    await vi.runAllTimersAsync()
    expect(((await outcome) as Error).message).toBe('gave up after attempt 3')
    expect(seen).toEqual([
      [0, 1_000],
      [400, 1_000],
      [800, 1_000],
    ])
    expect(Date.now()).toBe(1_000)
  })

  it('leaves an attempt the deadline cut short out of what onDeadline is given', async () => {
    const result = untilDeadline({
      timeoutMs: 1_000,
      backoff: () => 400,
      attempt: async (deadline, n) => {
        if (n === 1) throw retriable(n)
        // The second attempt's answer never comes: the deadline cuts it short.
        return withTimeout(new Promise<number>(() => {}), deadline - Date.now(), deadlinePassed)
      },
      onDeadline: (lastError) => new Error(`gave up after ${(lastError as Error).message}`),
    })
    const outcome = result.catch((error: unknown) => error)
    await vi.runAllTimersAsync()
    expect(((await outcome) as Error).message).toBe('gave up after attempt 1')
  })
})
