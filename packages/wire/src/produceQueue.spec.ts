import { describe, expect, it } from 'vitest'
import { BatchBuffers } from './batchBuffers.js'
import { ProduceQueue } from './produceQueue.js'
import { fakeConnection } from './__fixtures__/fakeConnection.js'

const batch = (partition: number, bytes = 100) => ({ topic: 't', partition, batch: Buffer.alloc(bytes) })
const turn = () => new Promise((resolve) => setImmediate(resolve))
/** Lets the event loop turn until `count` requests were sent (at most 20 turns). */
const sentCount = async (sent: readonly unknown[], count: number) => {
  for (let i = 0; i < 20 && sent.length < count; i++) await turn()
}

describe('ProduceQueue', () => {
  it('puts the batches ready in one turn into one request, and each gets its own partition answer', async () => {
    const { connection, sent } = fakeConnection()
    const queue = new ProduceQueue(connection, 1 << 20)
    const answers = [0, 1, 2].map((p) => queue.add(batch(p), -1, 1000))
    await turn()
    expect(sent.map((r) => r.partitions)).toEqual([[0, 1, 2]])
    sent[0]!.answer({ 1: 6 })
    const [a, b, c] = await Promise.all(answers)
    expect([a!.baseOffset, b!.errorCode, c!.baseOffset]).toEqual([0, 6, 200])
  })

  it('gives each batch back to its buffers once the request is written, before the answer', async () => {
    const { connection, sent } = fakeConnection()
    const buffers = new BatchBuffers()
    const queue = new ProduceQueue(connection, 1 << 20, buffers)
    const answers = [0, 1].map((p) => queue.add({ topic: 't', partition: p, batch: buffers.acquire(10_000).fill(p) }, -1, 1000))
    await turn()
    expect(buffers.freeBytes).toBe(2 * 16_384)
    expect(sent[0]!.batches.map((b) => b[0])).toEqual([0, 1])
    sent[0]!.answer()
    await Promise.all(answers)
  })

  it('holds what comes while a request is in flight and sends it all in the next one', async () => {
    const { connection, sent } = fakeConnection()
    const queue = new ProduceQueue(connection, 1 << 20)
    const first = queue.add(batch(0), -1, 1000)
    await turn()
    const later = [queue.add(batch(1), -1, 1000), queue.add(batch(2), -1, 1000)]
    await turn()
    expect(sent).toHaveLength(1)
    sent[0]!.answer()
    await first
    await sentCount(sent, 2)
    expect(sent.map((r) => r.partitions)).toEqual([[0], [1, 2]])
    sent[1]!.answer()
    await Promise.all(later)
  })

  it('waits for a batch still being encoded, so that it joins the request instead of taking turns with the others', async () => {
    const { connection, sent } = fakeConnection()
    const queue = new ProduceQueue(connection, 1 << 20)
    let encoded: (bytes: Buffer) => void = () => undefined
    const answers = [queue.add(batch(0), -1, 1000), queue.add({ topic: 't', partition: 1, batch: new Promise<Buffer>((resolve) => (encoded = resolve)) }, -1, 1000)]
    await turn()
    await turn()
    expect(sent).toHaveLength(0)
    encoded(Buffer.alloc(100))
    await sentCount(sent, 1)
    expect(sent.map((r) => r.partitions)).toEqual([[0, 1]])
    sent[0]!.answer()
    expect((await Promise.all(answers)).map((a) => a.partition)).toEqual([0, 1])
  })

  it('fails only the batch whose encoding failed, and sends the others', async () => {
    const { connection, sent } = fakeConnection()
    const queue = new ProduceQueue(connection, 1 << 20)
    const failing = queue.add({ topic: 't', partition: 1, batch: Promise.reject(new Error('codec missing')) }, -1, 1000)
    const sending = queue.add(batch(0), -1, 1000)
    await expect(failing).rejects.toThrow('codec missing')
    await sentCount(sent, 1)
    expect(sent.map((r) => r.partitions)).toEqual([[0]])
    sent[0]!.answer()
    expect((await sending).partition).toBe(0)
  })

  it('splits at maxRequestBytes (a batch alone may exceed it), and fails only the batches of a request that failed', async () => {
    const { connection, sent } = fakeConnection()
    const queue = new ProduceQueue(connection, 250)
    const results = [queue.add(batch(0, 200), -1, 1000), queue.add(batch(1, 200), -1, 1000), queue.add(batch(2, 300), -1, 1000)].map((p) =>
      p.then(
        () => 'ok',
        (error: Error) => error.message,
      ),
    )
    await turn()
    expect(sent.map((r) => r.partitions)).toEqual([[0]])
    sent[0]!.fail(new Error('connection lost'))
    await sentCount(sent, 2)
    sent[1]!.answer()
    await sentCount(sent, 3)
    sent[2]!.answer()
    expect(await Promise.all(results)).toEqual(['connection lost', 'ok', 'ok'])
    expect(sent.map((r) => r.partitions)).toEqual([[0], [1], [2]])
  })
})
