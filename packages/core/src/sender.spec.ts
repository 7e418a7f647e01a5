import { describe, expect, it } from 'vitest'
import { createSender } from './sender.js'
import { serialize } from './operators/serialize.js'
import { key } from './operators/key.js'
import { partition } from './operators/partition.js'
import { batch } from './operators/batch.js'
import { retry } from './operators/retry.js'
import { toKafka } from './operators/toKafka.js'
import { json } from './serializers.js'
import { MemoryTransport } from './testing/memoryTransport.js'
import { ProduceError, ProducerClosedError } from './errors.js'

type Order = { id: string; bad?: boolean }

function sender(onError: 'fail' | 'report') {
  const transport = new MemoryTransport({
    topics: { orders: 3 },
    latencyMs: 2,
    beforeSend: (request) => {
      if (request.records.some((r) => r.value?.toString().includes('"bad":true'))) throw new ProduceError('refused', 'POLICY_VIOLATION', { retriable: false })
    },
  })
  return {
    transport,
    sender: createSender<Order>((orders) =>
      orders.pipe(serialize('orders', json<Order>()), key((o) => o.id), partition(transport), batch({ lingerMs: 0 }), retry({ backoff: () => 1 }), toKafka(transport, { onError })),
    ),
  }
}

describe('createSender', () => {
  it('resolves each send with its own delivery report', async () => {
    const { sender: s, transport } = sender('report')
    const a = { id: 'a' }
    const report = await s.send(a)
    expect(report).toMatchObject({ status: 'delivered', topic: 'orders', source: a, offset: 0 })
    const many = await s.sendAll([{ id: 'b' }, { id: 'c' }, { id: 'd' }])
    expect(many.map((r) => r.source.id)).toEqual(['b', 'c', 'd'])
    await s.close()
    expect(transport.openSessions).toBe(0)
    await expect(s.send({ id: 'late' })).rejects.toBeInstanceOf(ProducerClosedError)
  })

  it("rejects only the failed event's promise with onError 'report'", async () => {
    const { sender: s } = sender('report')
    // Sent one after another, so the refused event is alone in its batch (a broker refuses whole batches).
    const results: PromiseSettledResult<unknown>[] = []
    for (const order of [{ id: 'ok1' }, { id: 'x', bad: true }, { id: 'ok2' }]) {
      results.push((await Promise.allSettled([s.send(order)]))[0]!)
    }
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(ProduceError)
    await s.close()
  })

  it("rejects every pending send and closes with onError 'fail'", async () => {
    const { sender: s } = sender('fail')
    const result = await s.send({ id: 'x', bad: true }).catch((e: unknown) => e)
    expect((result as Error).name).toBe('DeliveryFailedError')
    await expect(s.send({ id: 'y' })).rejects.toThrow()
  })
})
