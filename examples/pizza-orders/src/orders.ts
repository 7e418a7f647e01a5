/** A pizza order, as a shop's till would emit it. */
export interface PizzaOrder {
  orderId: string
  storeId: string
  placedAt: number
  customer: string
  pizzas: Array<{ name: string; size: 'S' | 'M' | 'L'; extras: string[] }>
  totalCents: number
}

const NAMES = ['margherita', 'marinara', 'diavola', 'quattro formaggi', 'capricciosa', 'funghi', 'hawaii', 'napoli']
const EXTRAS = ['basil', 'olives', 'anchovies', 'chili', 'mushrooms', 'rocket', 'burrata']
const SIZES = ['S', 'M', 'L'] as const

/** A small deterministic generator (mulberry32), so every run makes the same orders. */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Generates `count` orders from `stores` stores, lazily: a pull source reads them only as fast as Kafka
 * takes them. A synchronous generator: `fromAsyncIterable` takes one without an await per event (an
 * async generator costs a promise per order).
 */
export function* pizzaOrders(count: number, stores = 48): Generator<PizzaOrder> {
  const next = random(2026)
  const pick = <V>(list: readonly V[]): V => list[Math.floor(next() * list.length)]!
  for (let i = 0; i < count; i++) {
    const pizzas = Array.from({ length: 1 + Math.floor(next() * 3) }, () => ({
      name: pick(NAMES),
      size: pick(SIZES),
      extras: next() < 0.5 ? [] : [pick(EXTRAS)],
    }))
    yield {
      orderId: `order-${i}`,
      storeId: `store-${String(Math.floor(next() * stores)).padStart(2, '0')}`,
      placedAt: Date.now(),
      customer: `customer-${Math.floor(next() * 10_000)}`,
      pizzas,
      totalCents: pizzas.reduce((sum, p) => sum + (p.size === 'S' ? 800 : p.size === 'M' ? 1100 : 1400) + p.extras.length * 150, 0),
    }
  }
}
