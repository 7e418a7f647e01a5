import { describe, expectTypeOf, it } from 'vitest'
import type { AvroType } from './avroType.js'

const ORDER = {
  type: 'record',
  name: 'Order',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'total', type: 'long' },
    { name: 'paid', type: 'boolean' },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'size', type: { type: 'enum', name: 'Size', symbols: ['S', 'M', 'L'] } },
    { name: 'lines', type: { type: 'array', items: { type: 'record', name: 'Line', fields: [{ name: 'sku', type: 'string' }, { name: 'qty', type: 'int' }] } } },
    { name: 'tags', type: { type: 'map', values: 'string' } },
    { name: 'digest', type: { type: 'fixed', name: 'Digest', size: 16 } },
    { name: 'placedAt', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
} as const

describe('AvroType', () => {
  it('infers the event type from a schema written as const', () => {
    expectTypeOf<AvroType<typeof ORDER>>().toEqualTypeOf<{
      id: string
      total: number
      paid: boolean
      note: string | null
      size: 'S' | 'M' | 'L'
      lines: Array<{ sku: string; qty: number }>
      tags: Record<string, string>
      digest: Buffer
      placedAt: number
    }>()
    expectTypeOf<AvroType<'string'>>().toEqualTypeOf<string>()
    expectTypeOf<AvroType<readonly ['null', 'int']>>().toEqualTypeOf<null | number>()
  })
})
