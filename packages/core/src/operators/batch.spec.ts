import { describe, expect, it } from 'vitest'
import { TestScheduler } from 'rxjs/testing'
import { map, Subject } from 'rxjs'
import { batch } from './batch.js'
import { InvalidOptionError } from '../errors.js'
import type { OutgoingRecord, RecordBatch } from '../records.js'

const record = (source: string, partition = 0, bytes = 10): OutgoingRecord<string> => ({
  topic: 't',
  key: null,
  value: Buffer.alloc(bytes),
  headers: [],
  partition,
  timestamp: 0,
  source,
})
const sources = (b: RecordBatch<string>): string => `${b.partition}:${b.records.map((r) => r.source).join('')}`
const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

describe('batch', () => {
  it('emits a batch when linger expires, counted from its first record', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input = cold('a 2ms b 10ms c|').pipe(map((s) => record(s)))
      // a opens at 0 and lingers 5 → emitted at 5 with b (at 3); c at 14 flushes on completion at 15.
      expectObservable(input.pipe(batch<string>({ lingerMs: 5, scheduler: undefined }), map(sources))).toBe('5ms x 9ms (y|)', { x: '0:ab', y: '0:c' })
    })
  })

  it('keeps one batch per partition and flushes all of them on completion', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input = cold('abc|', { a: record('a', 0), b: record('b', 1), c: record('c', 0) })
      expectObservable(input.pipe(batch<string>({ lingerMs: 100 }), map(sources))).toBe('---(xy|)', { x: '0:ac', y: '1:b' })
    })
  })

  it('closes a batch at maxRecords', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input = cold('abc|').pipe(map((s) => record(s)))
      expectObservable(input.pipe(batch<string>({ lingerMs: 100, maxRecords: 2 }), map(sources))).toBe('-x-(y|)', { x: '0:ab', y: '0:c' })
    })
  })

  it('closes a batch before a record that would overflow maxBytes', () => {
    scheduler().run(({ cold, expectObservable }) => {
      // each record is 21 + 40 bytes; the batch header is 61: two records fit in 200, three do not.
      const input = cold('abc|').pipe(map((s) => record(s, 0, 40)))
      expectObservable(input.pipe(batch<string>({ lingerMs: 100, maxBytes: 200 }), map(sources))).toBe('--x(y|)', { x: '0:ab', y: '0:c' })
    })
  })

  it('flushes what it holds before passing an upstream error on', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input = cold('ab#', undefined, new Error('boom')).pipe(map((s) => record(s)))
      expectObservable(input.pipe(batch<string>({ lingerMs: 100 }), map(sources))).toBe('--(x#)', { x: '0:ab' }, new Error('boom'))
    })
  })

  it('cancels its linger timers and unsubscribes upstream on early unsubscribe', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const input = cold('a 20ms b|')
      const output = input.pipe(map((s) => record(s)), batch<string>({ lingerMs: 5 }), map(sources))
      expectObservable(output, '^ 3ms !').toBe('')
      expectSubscriptions(input.subscriptions).toBe('^ 3ms !')
    })
  })

  it('errors with a typed error naming the record when a record has no partition', () => {
    const input = new Subject<OutgoingRecord<string>>()
    let error: unknown
    input.pipe(batch<string>()).subscribe({ error: (e) => (error = e) })
    input.next({ ...record('lonely'), partition: undefined })
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect((error as InvalidOptionError).sources).toEqual(['lonely'])
  })

  it('rejects options out of range at construction, naming the option', () => {
    expect(() => batch({ lingerMs: -1 })).toThrow(/batch\.lingerMs/)
    expect(() => batch({ maxRecords: 0 })).toThrow(/batch\.maxRecords/)
    expect(() => batch({ maxBytes: 1.5 })).toThrow(/batch\.maxBytes/)
  })
})
