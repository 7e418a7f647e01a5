import { describe, expect, it } from 'vitest'
import { TestScheduler } from 'rxjs/testing'
import { map } from 'rxjs'
import { compress } from './compress.js'
import { retry } from './retry.js'
import { exponential } from '../backoff.js'
import { InvalidOptionError } from '../errors.js'
import type { RecordBatch } from '../records.js'

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))
const batchOf = (sizeBytes: number): RecordBatch<string> => ({ topic: 't', partition: 0, records: [], sizeBytes, createdAt: 0, codec: 'none', retry: undefined })

describe('compress', () => {
  it('sets one codec on every batch', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('ab|', { a: batchOf(1), b: batchOf(2) }).pipe(compress<string>('zstd'), map((b) => b.codec))).toBe('ab|', { a: 'zstd', b: 'zstd' })
    })
  })

  it('chooses the codec per batch with a function', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const out = cold('ab|', { a: batchOf(100), b: batchOf(10_000) }).pipe(compress<string>((b) => (b.sizeBytes > 4096 ? 'lz4' : 'none')), map((b) => b.codec))
      expectObservable(out).toBe('ab|', { a: 'none', b: 'lz4' })
    })
  })

  it('rejects an unknown codec at construction', () => {
    expect(() => compress('brotli' as 'gzip')).toThrow(InvalidOptionError)
  })

  it('fails only the batch whose codec function throws or names no codec, naming its events, and goes on', () => {
    const withRecords = (...sources: string[]): RecordBatch<string> => ({
      ...batchOf(100),
      records: sources.map((source) => ({ topic: 't', key: null, value: null, headers: [], partition: 0, timestamp: 0, source })),
    })
    const choose = (b: RecordBatch<string>): 'lz4' => {
      if (b.records[0]?.source === 'x') throw new Error('no codec for x')
      if (b.records[0]?.source === 'y') return 'lzma' as 'lz4'
      return 'lz4'
    }
    scheduler().run(({ cold, expectObservable }) => {
      const out = cold('abc|', { a: withRecords('x', 'x2'), b: withRecords('y'), c: withRecords('z') }).pipe(
        compress<string>(choose),
        map((b) => (b.failure === undefined ? b.codec : `${b.failure.name}:${b.failure.sources.join(',')}:${b.failure.message}`)),
      )
      expectObservable(out).toBe('abc|', {
        a: 'TopicflowError:x,x2:no codec for x',
        b: 'InvalidOptionError:y:Invalid option compress.codec(batch): expected none | gzip | snappy | lz4 | zstd, got "lzma"',
        c: 'lz4',
      })
    })
  })

  it('passes a batch that already failed on unchanged', () => {
    const failed = { ...batchOf(1), failure: new InvalidOptionError('x', 'y', 'z') }
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', { a: failed }).pipe(compress<string>('zstd'))).toBe('a|', { a: failed })
      expectObservable(cold('a|', { a: failed }).pipe(compress<string>(() => 'zstd'))).toBe('a|', { a: failed })
    })
  })

  it('passes errors and early unsubscribe through', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      expectObservable(cold('a#', { a: batchOf(1) }).pipe(compress<string>('gzip'), map((b) => b.codec))).toBe('a#', { a: 'gzip' })
      const slow = cold('a--b|', { a: batchOf(1), b: batchOf(2) })
      expectObservable(slow.pipe(compress<string>('gzip'), map((b) => b.codec)), '^-!').toBe('a', { a: 'gzip' })
      expectSubscriptions(slow.subscriptions).toBe('^-!')
    })
  })
})

describe('retry', () => {
  it('attaches one frozen policy to every batch, with Java-like defaults', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const out = cold('a|', { a: batchOf(1) }).pipe(retry<string>(), map((b) => `${b.retry?.attempts}/${b.retry?.deliveryTimeoutMs}/${Object.isFrozen(b.retry)}`))
      expectObservable(out).toBe('a|', { a: 'Infinity/120000/true' })
    })
  })

  it('rejects options out of range, naming them', () => {
    expect(() => retry({ attempts: 0 })).toThrow(/retry\.attempts/)
    expect(() => retry({ deliveryTimeoutMs: -5 })).toThrow(/retry\.deliveryTimeoutMs/)
    expect(() => exponential(100, 50)).toThrow(/exponential\.maxMs/)
    expect(() => exponential(100, 1000, 2)).toThrow(/exponential\.jitter/)
  })

  it('backs off exponentially with bounded jitter', () => {
    const backoff = exponential(100, 1000, 0.2)
    for (let i = 0; i < 200; i++) {
      expect(backoff(1)).toBeGreaterThanOrEqual(80)
      expect(backoff(1)).toBeLessThanOrEqual(120)
      expect(backoff(3)).toBeGreaterThanOrEqual(320)
      expect(backoff(3)).toBeLessThanOrEqual(480)
      expect(backoff(10)).toBeLessThanOrEqual(1000)
      expect(backoff(10)).toBeGreaterThanOrEqual(800)
    }
    expect(exponential(100, 1000, 0)(2)).toBe(200)
  })
})
