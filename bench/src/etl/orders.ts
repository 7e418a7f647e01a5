/**
 * The ETL section's input: JSON orders of ~200 B (`{ id, store, customer, items: [{ sku, qty, priceCents }] }`),
 * keyed by their id, made lazily (nobody holds the run in memory), 1-3 items each.
 */
import type { Order } from '@topicflow/example-etl-enrich/pipeline'

export interface BenchOrder extends Order {
  readonly id: string
  readonly store: string
  readonly customer: string
  readonly items: ReadonlyArray<{ readonly sku: string; readonly qty: number; readonly priceCents: number }>
}

export function* benchOrders(count: number): Generator<BenchOrder> {
  for (let i = 0; i < count; i++) {
    const items = Array.from({ length: 1 + (i % 3) }, (_, j) => ({ sku: `sku-${String((i * 31 + j * 7) % 10_000).padStart(5, '0')}`, qty: 1 + ((i + j) % 4), priceCents: 199 + ((i * 13 + j * 101) % 4800) }))
    yield { id: `order-${String(i).padStart(9, '0')}`, store: `store-${String(i % 250).padStart(3, '0')}`, customer: `customer-${String((i * 7919) % 100_000).padStart(6, '0')}`, channel: i % 2 === 0 ? 'web' : 'app', items }
  }
}

/** The orders' average size as JSON, over the first `sample` of them (they repeat their shapes). */
export function averageOrderBytes(sample = 10_000): number {
  let bytes = 0
  for (const order of benchOrders(sample)) bytes += Buffer.byteLength(JSON.stringify(order))
  return Math.round(bytes / sample)
}
