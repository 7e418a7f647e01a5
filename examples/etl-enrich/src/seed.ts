import { lastValueFrom, map, range, toArray } from 'rxjs'
import { batch, json, key, partition, serialize, toKafka, type Transport } from '@topicflow/core'

/** Writes `count` sample orders to `topic` (keyed by store), for a run on a Kafka this job started itself. */
export async function seedOrders(transport: Transport, topic: string, count: number): Promise<void> {
  const stores = ['naples', 'rome', 'turin', 'milan', 'bari', 'genoa']
  const reports = await lastValueFrom(
    range(0, count).pipe(
      map((id) => ({ id, store: stores[id % stores.length]!, items: [{ name: 'margherita', qty: 1 + (id % 3), priceCents: 850 }] })),
      serialize(topic, json()),
      key((order) => order.store),
      partition(transport),
      batch(),
      toKafka(transport),
      toArray(),
    ),
  )
  const failed = reports.filter((r) => r.status !== 'delivered').length
  if (failed > 0) throw new Error(`seeding ${topic}: ${failed} of ${count} orders not delivered`)
  console.error(`seeded ${count.toLocaleString('en')} orders into ${topic}`)
}
