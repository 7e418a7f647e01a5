import { describe, expect, it } from 'vitest'
import { BrokerUnavailableError, KafkaConnectionError, NO_HEADERS, ProduceError, type ProduceRequest } from '@topicflow/core'
import { BatchBuffers } from './batchBuffers.js'
import { fakeConnection, type SentRequest } from './__fixtures__/fakeConnection.js'
import { DUPLICATE_SEQUENCE_NUMBER } from './kafkaErrors.js'
import { WireSession, type SessionTransport } from './wireSession.js'

/** Where a record batch holds its producer id and base sequence (Kafka's DefaultRecordBatch layout). */
const PRODUCER_ID_OFFSET = 43
const BASE_SEQUENCE_OFFSET = 53

/** A transport with one fake broker leading every partition; each producer id it gives is one more than the last. */
function fakeTransport(options: { readonly firstSequence?: number; readonly leaderError?: Error } = {}) {
  const { connection, sent } = fakeConnection()
  const calls = { newProducerId: 0, staleMetadata: 0 }
  const transport: SessionTransport = {
    maxRequestBytes: 1 << 20,
    batchBuffers: new BatchBuffers(),
    leaderOf: async () => {
      if (options.leaderError !== undefined) throw options.leaderError
      return connection
    },
    staleMetadata: () => {
      calls.staleMetadata++
    },
    newProducerId: async () => ({ producerId: BigInt(++calls.newProducerId), producerEpoch: 0, baseSequence: options.firstSequence ?? 0 }),
  }
  return { transport, sent, calls }
}

const request = (records: number, tag = 'v'): ProduceRequest => ({
  topic: 't',
  partition: 0,
  records: Array.from({ length: records }, (_, i) => ({ key: null, value: Buffer.from(`${tag}${i}`), headers: NO_HEADERS, timestamp: 0 })),
  codec: 'none',
  acks: -1,
  timeoutMs: 1000,
})

/** The producer id and base sequence each request's batch was written with. */
const identities = (sent: readonly SentRequest[]) =>
  sent.map(({ batches: [batch] }) => ({ producerId: batch!.readBigInt64BE(PRODUCER_ID_OFFSET), baseSequence: batch!.readInt32BE(BASE_SEQUENCE_OFFSET) }))

/** One entry of `identities`. */
const sentAs = (producerId: bigint, baseSequence: number) => ({ producerId, baseSequence })

/** Lets the event loop turn until the fake broker has received `count` requests (at most 20 turns). */
async function received(sent: readonly SentRequest[], count: number): Promise<SentRequest> {
  for (let i = 0; i < 20 && sent.length < count; i++) await new Promise((resolve) => setImmediate(resolve))
  expect(sent).toHaveLength(count)
  return sent[count - 1]!
}

/**
 * Sends `first` through a new idempotent session and fails its request with `failure`, then sends `second`
 * and acknowledges it. Returns the first send's error, what the broker saw, and how many producer ids were asked for.
 */
async function failThenSend(first: ProduceRequest, second: ProduceRequest, failure: Error) {
  const { transport, sent, calls } = fakeTransport()
  const session = new WireSession(transport, true)
  const failed = session.send(first).catch((e: unknown) => e)
  ;(await received(sent, 1)).fail(failure)
  const error = await failed
  const next = session.send(second)
  ;(await received(sent, 2)).answer()
  await next
  return { error, identities: identities(sent), producerIds: calls.newProducerId }
}

describe('WireSession (idempotent)', () => {
  it('keeps a batch’s sequence number through a retry of the same request after a lost connection', async () => {
    const batch = request(3)
    const { error, ...seen } = await failThenSend(batch, batch, new KafkaConnectionError('connection lost'))
    expect(error).toBeInstanceOf(KafkaConnectionError)
    expect(seen).toEqual({ identities: [sentAs(1n, 0), sentAs(1n, 0)], producerIds: 1 })
  })

  it('moves the sequence on by the batch’s record count once the broker acknowledges it', async () => {
    const { transport, sent } = fakeTransport()
    const session = new WireSession(transport, true)
    for (const [i, records] of [3, 2, 1].entries()) {
      const sending = session.send(request(records))
      ;(await received(sent, i + 1)).answer()
      await sending
    }
    expect(identities(sent).map((s) => s.baseSequence)).toEqual([0, 3, 5])
  })

  it('goes on under a new producer id when a request in doubt was given up and a different one comes next', async () => {
    const { error, ...seen } = await failThenSend(request(3, 'a'), request(2, 'b'), new KafkaConnectionError('no answer within 1000 ms'))
    expect(error).toBeInstanceOf(KafkaConnectionError)
    expect(seen).toEqual({ identities: [sentAs(1n, 0), sentAs(2n, 0)], producerIds: 2 })
  })

  it('takes DUPLICATE_SEQUENCE_NUMBER as delivered (the broker has the batch already) and moves the sequence on', async () => {
    const { transport, sent } = fakeTransport()
    const session = new WireSession(transport, true)
    const duplicate = session.send(request(4))
    ;(await received(sent, 1)).answer({ 0: DUPLICATE_SEQUENCE_NUMBER })
    await expect(duplicate).resolves.toEqual({ baseOffset: 0, logAppendTime: -1 })
    const next = session.send(request(1))
    ;(await received(sent, 2)).answer()
    await next
    expect(identities(sent).map((s) => s.baseSequence)).toEqual([0, 4])
  })

  it.each([
    ['OUT_OF_ORDER_SEQUENCE_NUMBER', 45],
    ['INVALID_PRODUCER_EPOCH', 47],
    ['UNKNOWN_PRODUCER_ID', 59],
  ])('after %s goes on under a new producer id, at sequence 0 (not the session id, which the broker would refuse again)', async (_name, code) => {
    const { transport, sent, calls } = fakeTransport()
    const session = new WireSession(transport, true)
    const first = session.send(request(3))
    ;(await received(sent, 1)).answer({ 0: code })
    await expect(first).rejects.toThrow(/retrying under a new producer id/)
    const retry = session.send(request(3))
    ;(await received(sent, 2)).answer()
    await retry
    expect({ identities: identities(sent), producerIds: calls.newProducerId }).toEqual({ identities: [sentAs(1n, 0), sentAs(2n, 0)], producerIds: 2 })
  })

  it('wraps the sequence at 2^31, as Kafka does', async () => {
    const { transport, sent } = fakeTransport({ firstSequence: 2 ** 31 - 2 })
    const session = new WireSession(transport, true)
    for (const [i, records] of [3, 1].entries()) {
      const sending = session.send(request(records))
      ;(await received(sent, i + 1)).answer()
      await sending
    }
    expect(identities(sent).map((s) => s.baseSequence)).toEqual([2 ** 31 - 2, 1])
  })

  it('reports a request that found no leader as BrokerUnavailableError (not sent), and asks for metadata again', async () => {
    const noLeader = new ProduceError('No leader for t-0 in metadata (LEADER_NOT_AVAILABLE)', 'LEADER_NOT_AVAILABLE', { topic: 't', partition: 0, retriable: true })
    const { transport, sent, calls } = fakeTransport({ leaderError: noLeader })
    const error = await new WireSession(transport, true).send(request(1)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BrokerUnavailableError)
    expect((error as Error).message).toBe('Produce to t-0 not sent: No leader for t-0 in metadata (LEADER_NOT_AVAILABLE)')
    expect((error as Error).cause).toBe(noLeader)
    expect(calls.staleMetadata).toBe(1)
    expect(sent).toHaveLength(0)
  })

  it('reports a connection that closed before the request was written as BrokerUnavailableError, and keeps the sequence (nothing is in doubt)', async () => {
    const closed = new BrokerUnavailableError('Connection to fake:9092 closed before the request was sent')
    const { error, ...seen } = await failThenSend(request(3, 'a'), request(2, 'b'), closed)
    expect(error).toBeInstanceOf(BrokerUnavailableError)
    expect((error as Error).message).toBe('Produce to t-0 not sent: Connection to fake:9092 closed before the request was sent')
    expect(seen).toEqual({ identities: [sentAs(1n, 0), sentAs(1n, 0)], producerIds: 1 })
  })
})
