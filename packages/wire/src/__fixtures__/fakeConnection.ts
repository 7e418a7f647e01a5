import { Reader, Writer } from '../protocol.js'
import { API, type BrokerConnection } from '../connection.js'

/** One produce request as the fake broker received it, waiting for the spec to answer or fail it. */
export interface SentRequest {
  /** The partitions it carries, in order (all of topic `t`). */
  readonly partitions: number[]
  /** Each partition's record batch, as encoded. */
  readonly batches: Buffer[]
  /** Answers every partition, with the given error code (default 0) and base offset 100 × partition. */
  answer(errorCodes?: Record<number, number>): void
  /** Rejects the request, as a lost connection does. */
  fail(error: Error): void
}

/** A connection that records each produce request (a copy of it, decoding the partitions and batches it carries) and answers when told; it never closes. */
export function fakeConnection() {
  const sent: SentRequest[] = []
  const connection: Pick<BrokerConnection, 'address' | 'request' | 'send' | 'produceApi' | 'onClose'> = {
    address: 'fake:9092',
    produceApi: API.produce,
    request: (_api, body, _timeoutMs, written) =>
      new Promise<Reader>((resolve, reject) => {
        // A copy, as the socket's kernel buffer is: the request's own buffers may be reused once `written` is called.
        const reader = new Reader(Buffer.concat(body))
        written?.()
        reader.string() // transactional id
        reader.int16() // acks
        reader.int32() // timeout
        const partitions: number[] = []
        const batches: Buffer[] = []
        reader.array((t) => {
          const topic = t.string()
          t.array((p) => {
            partitions.push(p.int32())
            batches.push(p.bytes() ?? Buffer.alloc(0))
            return topic
          })
        })
        sent.push({
          partitions,
          batches,
          answer(errorCodes = {}) {
            const response = new Writer()
              .array(['t'], (topic, w) =>
                w.string(topic).array(partitions, (partition, pw) =>
                  pw.int32(partition).int16(errorCodes[partition] ?? 0).int64(BigInt(partition * 100)).int64(-1n).int64(0n).array([], () => undefined).string(null),
                ),
              )
              .int32(0)
              .toBuffer()
            resolve(new Reader(response))
          },
          fail: reject,
        })
      }),
    send: () => Promise.resolve(),
    onClose: () => undefined,
  }
  return { connection, sent }
}
