import { describe, expect, it } from 'vitest'
import { TestScheduler } from 'rxjs/testing'
import { map } from 'rxjs'
import { serialize } from './serialize.js'
import { json, string } from '../serializers.js'
import { InvalidOptionError, SerializationError } from '../errors.js'

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

describe('serialize', () => {
  it('turns each event into a record with the serializer bytes, the headers and the event as source', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const events = cold('ab|', { a: { id: 1 }, b: { id: 2 } })
      const out = events.pipe(
        serialize('orders', json<{ id: number }>(), { headers: { origin: 'test' }, timestamp: (e) => e.id * 1000 }),
        map((r) => `${r.topic}|${r.value?.toString()}|${String(r.headers.origin)}|${r.timestamp}|${r.key}|${r.source.id}`),
      )
      expectObservable(out).toBe('ab|', { a: 'orders|{"id":1}|test|1000|null|1', b: 'orders|{"id":2}|test|2000|null|2' })
    })
  })

  it('picks the topic per event', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const out = cold('ab|', { a: 'x', b: 'y' }).pipe(serialize((e) => `t-${e}`, string()), map((r) => r.topic))
      expectObservable(out).toBe('ab|', { a: 't-x', b: 't-y' })
    })
  })

  it('errors with a SerializationError carrying the event, after passing on the records before it', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const circular: Record<string, unknown> = {}
      circular.self = circular
      let cause: unknown
      try {
        JSON.stringify(circular)
      } catch (error) {
        cause = error
      }
      const out = cold('ab-c|', { a: { ok: 1 }, b: circular, c: { ok: 2 } }).pipe(serialize('t', json()), map((r) => r.value?.toString()))
      expectObservable(out).toBe('a#', { a: '{"ok":1}' }, new SerializationError('value', circular, cause))
    })
  })

  it.each([
    ['undefined', undefined],
    ['a BigInt', 10n],
    ['a function', () => 1],
  ])('rejects %s as JSON with a typed error naming the event', (_name, value) => {
    let error: unknown
    scheduler().run(({ cold }) => {
      cold('a|', { a: value }).pipe(serialize('t', json())).subscribe({ error: (e) => (error = e) })
    })
    expect(error).toBeInstanceOf(SerializationError)
    expect((error as SerializationError).part).toBe('value')
    expect((error as SerializationError).sources).toEqual([value])
  })

  it('rejects illegal topic names: at construction for a fixed topic, per event otherwise', () => {
    expect(() => serialize('bad topic', string())).toThrow(InvalidOptionError)
    expect(() => serialize('', string())).toThrow(/serialize\.topic/)
    let error: unknown
    scheduler().run(({ cold }) => {
      cold('a|', { a: 'x' }).pipe(serialize(() => 'no/slashes', string())).subscribe({ error: (e) => (error = e) })
    })
    expect(error).toBeInstanceOf(SerializationError)
    expect((error as SerializationError).part).toBe('topic')
  })

  it('rejects header values that are neither strings nor Buffers', () => {
    expect(() => serialize('t', string(), { headers: { n: 1 as unknown as string } })).toThrow(/header "n"/)
    let error: unknown
    scheduler().run(({ cold }) => {
      cold('a|', { a: 'x' }).pipe(serialize('t', string(), { headers: () => ({ n: {} as unknown as string }) })).subscribe({ error: (e) => (error = e) })
    })
    expect((error as SerializationError).part).toBe('headers')
    expect(() => serialize('t', string(), { headers: { n: ['a', null as unknown as string] } })).toThrow(/header "n".*null/)
  })

  it('hands an unserializable event to the onError handler and goes on with the next ones', () => {
    const errors: SerializationError[] = []
    scheduler().run(({ cold, expectObservable }) => {
      const events = cold<unknown>('a-b-c|', { a: 1, b: 10n, c: 3 })
      const records = events.pipe(serialize('t', json<unknown>(), { onError: (e) => errors.push(e) }), map((r) => r.value?.toString()))
      expectObservable(records).toBe('a---c|', { a: '1', c: '3' })
    })
    expect(errors.map((e) => [e.part, e.event])).toEqual([['value', 10n]])
    expect(() => serialize('t', json(), { onError: 'skip' as 'fail' })).toThrow(InvalidOptionError)
  })

  it('takes an array of values for a header key that repeats', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const records = cold('a|', { a: 'x' }).pipe(serialize('t', string(), { headers: { h: ['1', Buffer.from('2')] } }))
      expectObservable(records.pipe(map((r) => (r.headers.h as unknown[]).map(String).join(',')))).toBe('a|', { a: '1,2' })
    })
  })

  it('unsubscribes upstream when the subscriber leaves early', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const events = cold('a-b-c|')
      expectObservable(events.pipe(serialize('t', string()), map((r) => r.source)), '^--!').toBe('a-b')
      expectSubscriptions(events.subscriptions).toBe('^--!')
    })
  })
})
