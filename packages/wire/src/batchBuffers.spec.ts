import { describe, expect, it } from 'vitest'
import { BatchBuffers } from './batchBuffers.js'

describe('BatchBuffers', () => {
  it('gives a buffer of the size asked for, and reuses its memory once it is given back', () => {
    const buffers = new BatchBuffers()
    const first = buffers.acquire(50_000)
    expect(first.length).toBe(50_000)
    expect(first.buffer.byteLength).toBe(65_536)
    buffers.release(first)
    expect(buffers.freeBytes).toBe(65_536)
    const second = buffers.acquire(40_000)
    expect(second.buffer).toBe(first.buffer)
    expect(second.length).toBe(40_000)
    expect(buffers.freeBytes).toBe(0)
    // Another size class does not take it.
    buffers.release(second)
    expect(buffers.acquire(100).buffer).not.toBe(first.buffer)
  })

  it('lists memory given back twice only once, and ignores buffers it did not lend', () => {
    const buffers = new BatchBuffers()
    const lent = buffers.acquire(5000)
    buffers.release(lent)
    buffers.release(lent)
    buffers.release(Buffer.allocUnsafe(5000))
    buffers.release(Buffer.from(new ArrayBuffer(8192)))
    expect(buffers.freeBytes).toBe(8192)
    expect(buffers.acquire(5000).buffer).toBe(lent.buffer)
    expect(buffers.acquire(5000).buffer).not.toBe(lent.buffer)
  })

  it('keeps at most maxFreeBytes for reuse, and never pools a buffer above 4 MiB', () => {
    const buffers = new BatchBuffers(100_000)
    const lent = [buffers.acquire(60_000), buffers.acquire(60_000)]
    for (const buffer of lent) buffers.release(buffer)
    expect(buffers.freeBytes).toBe(65_536)
    const huge = buffers.acquire(5 * 1024 * 1024)
    buffers.release(huge)
    expect(buffers.freeBytes).toBe(65_536)
  })
})
