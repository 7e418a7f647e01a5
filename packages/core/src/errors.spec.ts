import { describe, expect, it } from 'vitest'
import { describeValue, UnknownTopicError } from './errors.js'

describe('UnknownTopicError', () => {
  it('after the wait, says how long it waited and that the broker did not create the topic', () => {
    const error = new UnknownTopicError('orders', { retriable: false, waitedMs: 60_000 })
    expect(error.message).toBe(
      'Topic "orders" not present in metadata after 60000 ms (max.block.ms); the broker did not create it (its auto.create.topics.enable is off): create the topic first',
    )
    expect(error.topic).toBe('orders')
    expect(error.retriable).toBe(false)
  })

  it('says the broker was not asked when the transport does not ask for creation', () => {
    const error = new UnknownTopicError('orders', { waitedMs: 2_000, creationAsked: false })
    expect(error.message).toBe('Topic "orders" not present in metadata after 2000 ms (max.block.ms); allowAutoTopicCreation is off, so the broker was not asked to create it: create the topic first')
  })

  it('for one answer without the topic (retried), says only that', () => {
    const error = new UnknownTopicError('orders')
    expect(error.message).toBe('Topic "orders" not present in metadata')
    expect(error.retriable).toBe(true)
  })
})

describe('describeValue', () => {
  it('describes an event by its JSON, cut at 120 characters', () => {
    expect(describeValue({ id: 7, name: 'ada' })).toBe('{"id":7,"name":"ada"}')
    expect(describeValue({ body: 'x'.repeat(200) })).toBe(`${JSON.stringify({ body: 'x'.repeat(200) }).slice(0, 120)}…`)
  })

  it('describes an event JSON cannot carry (a cycle, a BigInt) by its constructor', () => {
    const cyclic: Record<string, unknown> = { kind: 'circular' }
    cyclic.self = cyclic
    expect(describeValue(cyclic)).toBe('[Object]')
    expect(describeValue({ amount: 10n })).toBe('[Object]')
  })
})
