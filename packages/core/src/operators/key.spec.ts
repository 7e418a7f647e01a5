import { describe, expect, it } from 'vitest'
import { TestScheduler } from 'rxjs/testing'
import { map } from 'rxjs'
import { key } from './key.js'
import { serialize } from './serialize.js'
import { json } from '../serializers.js'
import { SerializationError } from '../errors.js'

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))
type Order = { store: unknown }

describe('key', () => {
  it('sets the key from the event: strings as UTF-8, bytes as they are, null and undefined as no key', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const events = cold('abcd|', { a: { store: 'ß-1' }, b: { store: Buffer.from([1, 2]) }, c: { store: null }, d: { store: undefined } })
      const out = events.pipe(
        serialize('t', json<Order>()),
        key((o) => o.store as string),
        map((r) => (r.key === null ? 'null' : r.key.toString('hex'))),
      )
      expectObservable(out).toBe('abcd|', { a: Buffer.from('ß-1').toString('hex'), b: '0102', c: 'null', d: 'null' })
    })
  })

  it('uses a serializer when given one', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const out = cold('a|', { a: { store: 7 } }).pipe(
        serialize('t', json<Order>()),
        key((o) => o.store as number, (n) => Buffer.from([n])),
        map((r) => r.key?.[0]),
      )
      expectObservable(out).toBe('a|', { a: 7 })
    })
  })

  it('errors with a SerializationError (part key) carrying the event for a key of the wrong type', () => {
    let error: unknown
    const event = { store: 42 }
    scheduler().run(({ cold }) => {
      cold('a|', { a: event }).pipe(serialize('t', json<Order>()), key((o) => o.store as string)).subscribe({ error: (e) => (error = e) })
    })
    expect(error).toBeInstanceOf(SerializationError)
    expect((error as SerializationError).part).toBe('key')
    expect((error as SerializationError).sources).toEqual([event])
  })

  it('passes upstream errors and early unsubscribe through', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const events = cold('a-#', { a: { store: 'x' } })
      expectObservable(events.pipe(serialize('t', json<Order>()), key((o) => o.store as string), map((r) => r.key?.toString()))).toBe('a-#', { a: 'x' })
      const slow = cold('a---b|', { a: { store: 'x' }, b: { store: 'y' } })
      expectObservable(slow.pipe(serialize('t', json<Order>()), key((o) => o.store as string), map((r) => r.key?.toString())), '^-!').toBe('a', { a: 'x' })
      expectSubscriptions(slow.subscriptions).toBe('^-!')
    })
  })

  it('rejects a missing extractor at construction', () => {
    expect(() => key(undefined as unknown as (e: unknown) => string)).toThrow(/key\.extract/)
  })

  it('hands a key that cannot be made to the onError handler and goes on', () => {
    const errors: SerializationError[] = []
    scheduler().run(({ cold, expectObservable }) => {
      const events = cold<{ k: unknown }>('a-b-c|', { a: { k: 'x' }, b: { k: 5 }, c: { k: 'z' } })
      const keys = events.pipe(serialize('t', json()), key((e) => e.k as string, undefined, { onError: (e) => errors.push(e) }), map((r) => r.key?.toString()))
      expectObservable(keys).toBe('a---c|', { a: 'x', c: 'z' })
    })
    expect(errors.map((e) => e.part)).toEqual(['key'])
  })
})
