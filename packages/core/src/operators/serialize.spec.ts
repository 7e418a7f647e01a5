import { describe, expect, it } from 'vitest'
import { TestScheduler } from 'rxjs/testing'
import { map } from 'rxjs'
import { serialize } from './serialize.js'
import { json, string } from '../serializers.js'
import { InvalidOptionError, SerializationError } from '../errors.js'
import { NO_HEADERS, type RecordHeaders } from '../records.js'

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

describe('serialize', () => {
  it('turns each event into a record with the serializer bytes, the headers and the event as source', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const events = cold('ab|', { a: { id: 1 }, b: { id: 2 } })
      const out = events.pipe(
        serialize('orders', json<{ id: number }>(), { headers: { origin: 'test' }, timestamp: (e) => e.id * 1000 }),
        map((r) => `${r.topic}|${r.value?.toString()}|${r.headers.join()}|${r.timestamp}|${r.key}|${r.source.id}`),
      )
      expectObservable(out).toBe('ab|', { a: 'orders|{"id":1}|origin,test|1000|null|1', b: 'orders|{"id":2}|origin,test|2000|null|2' })
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

  it('rejects header values that are neither strings nor Buffers: a fixed one as a bad option, a computed one as a SerializationError', () => {
    expect(() => serialize('t', string(), { headers: { n: 1 as unknown as string } })).toThrow(InvalidOptionError)
    expect(() => serialize('t', string(), { headers: { n: 1 as unknown as string } })).toThrow(/serialize\.headers.*header "n"/)
    expect(() => serialize('t', string(), { headers: { n: ['a', null as unknown as string] } })).toThrow(/header "n".*null/)
    expect(() => serialize('t', string(), { headers: [['n', 'a'], ['m']] as unknown as RecordHeaders })).toThrow(/\[name, value\] pair/)
    expect(() => serialize('t', string(), { headers: [[1, 'a']] as unknown as RecordHeaders })).toThrow(/string name/)
    for (const bad of [() => ({ n: {} as unknown as string }), () => [['n', 2]] as unknown as RecordHeaders, () => 'n:v' as unknown as RecordHeaders]) {
      let error: unknown
      scheduler().run(({ cold }) => {
        cold('a|', { a: 'x' }).pipe(serialize('t', string(), { headers: bad })).subscribe({ error: (e) => (error = e) })
      })
      expect(error).toBeInstanceOf(SerializationError)
      expect((error as SerializationError).part).toBe('headers')
    }
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

  it('keeps a list of headers in its order, repeats and integer-like names included, fixed or computed', () => {
    const given: RecordHeaders = [['seq', '1'], ['src', 'a'], ['dup', 'x'], ['42', Buffer.from('y')], ['mid', 'm'], ['dup', 'z']]
    const order = (headers: RecordHeaders): string => headers.map(([name, value]) => `${name}:${value.toString()}`).join(',')
    scheduler().run(({ cold, expectObservable }) => {
      const fixed = cold('a|', { a: 'x' }).pipe(serialize('t', string(), { headers: given }))
      expectObservable(fixed.pipe(map((r) => order(r.headers)))).toBe('a|', { a: 'seq:1,src:a,dup:x,42:y,mid:m,dup:z' })
      const computed = cold('ab|', { a: 'x', b: 'y' }).pipe(serialize('t', string(), { headers: (e) => [['dup', `${e}`], ['7', `${e}`], ['dup', `${e}2`]] }))
      expectObservable(computed.pipe(map((r) => order(r.headers)))).toBe('ab|', { a: 'dup:x,7:x,dup:x2', b: 'dup:y,7:y,dup:y2' })
    })
  })

  it('takes an object for convenience: entries in key order, an array value repeating its name in place', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const records = cold('a|', { a: 'x' }).pipe(serialize('t', string(), { headers: { h: ['1', Buffer.from('2')], origin: 'o' } }))
      expectObservable(records.pipe(map((r) => r.headers.map(([name, value]) => `${name}:${value.toString()}`).join(',')))).toBe('a|', { a: 'h:1,h:2,origin:o' })
    })
  })

  it('gives every record without headers the one frozen empty list', () => {
    const seen: RecordHeaders[] = []
    scheduler().run(({ cold }) => {
      cold('a|', { a: 'x' }).pipe(serialize('t', string())).subscribe((r) => seen.push(r.headers))
      cold('a|', { a: 'x' }).pipe(serialize('t', string(), { headers: {} })).subscribe((r) => seen.push(r.headers))
      cold('a|', { a: 'x' }).pipe(serialize('t', string(), { headers: () => [] })).subscribe((r) => seen.push(r.headers))
    })
    expect(seen).toHaveLength(3)
    for (const headers of seen) expect(headers).toBe(NO_HEADERS)
    expect(Object.isFrozen(NO_HEADERS)).toBe(true)
  })

  it('unsubscribes upstream when the subscriber leaves early', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const events = cold('a-b-c|')
      expectObservable(events.pipe(serialize('t', string()), map((r) => r.source)), '^--!').toBe('a-b')
      expectSubscriptions(events.subscriptions).toBe('^--!')
    })
  })
})
