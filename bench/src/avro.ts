/**
 * The cost of Avro through `serialize`: the same events encoded by avsc's own `toBuffer` and by
 * `serialize(topic, avroSerializer(...))` (validation, Confluent framing, one record per event), in the same
 * process, rounds alternated, best of each. The registry is asked once, before timing.
 */
import avro from 'avsc'
import { from } from 'rxjs'
import { serialize } from '@topicflow/core'
import { avroSerializer } from '@topicflow/avro'
import { pizzaOrders, type PizzaOrder } from '@topicflow/example-pizza-orders/pipeline'

export const PIZZA_ORDER_SCHEMA = {
  type: 'record',
  name: 'PizzaOrder',
  namespace: 'dev.topicflow.bench',
  fields: [
    { name: 'orderId', type: 'string' },
    { name: 'storeId', type: 'string' },
    { name: 'placedAt', type: 'long' },
    { name: 'customer', type: 'string' },
    {
      name: 'pizzas',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'Pizza',
          fields: [
            { name: 'name', type: 'string' },
            { name: 'size', type: { type: 'enum', name: 'Size', symbols: ['S', 'M', 'L'] } },
            { name: 'extras', type: { type: 'array', items: 'string' } },
          ],
        },
      },
    },
    { name: 'totalCents', type: 'long' },
  ],
}

export interface AvroCost {
  readonly events: number
  readonly avscToBufferMs: number
  readonly topicflowSerializeMs: number
  /** topicflowSerializeMs / avscToBufferMs (target <= 1.3). */
  readonly ratio: number
}

export async function measureAvroCost(registryUrl: string, count: number, rounds = 5): Promise<AvroCost> {
  const events: PizzaOrder[] = []
  for (const order of pizzaOrders(count)) events.push(order)
  const type = avro.Type.forSchema(PIZZA_ORDER_SCHEMA as avro.Schema)
  const serializer = await avroSerializer<PizzaOrder>({ registry: registryUrl, topic: `bench-avro-${Date.now()}`, schema: PIZZA_ORDER_SCHEMA as avro.Schema })
  let avscBest = Number.POSITIVE_INFINITY
  let oursBest = Number.POSITIVE_INFINITY
  let sink = 0
  for (let round = 0; round < rounds; round++) {
    let started = performance.now()
    for (const event of events) sink += type.toBuffer(event).length
    avscBest = Math.min(avscBest, performance.now() - started)
    started = performance.now()
    from(events)
      .pipe(serialize('bench-avro', serializer))
      .subscribe((record) => (sink += record.value!.length))
    oursBest = Math.min(oursBest, performance.now() - started)
  }
  if (sink === 0) throw new Error('nothing was encoded')
  return { events: count, avscToBufferMs: Math.round(avscBest), topicflowSerializeMs: Math.round(oursBest), ratio: Math.round((oursBest / avscBest) * 100) / 100 }
}
