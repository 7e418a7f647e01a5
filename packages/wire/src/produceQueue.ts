import { KafkaConnectionError } from '@topicflow/core'
import type { BrokerConnection } from './connection.js'
import type { BatchBuffers } from './batchBuffers.js'
import { produceRequest, readProduce, type PartitionProduceResponse } from './messages.js'

/** A batch for one partition as the queue takes it: its bytes, or their encoding still under way. */
export interface PendingBatch {
  readonly topic: string
  readonly partition: number
  readonly batch: Buffer | Promise<Buffer>
}

interface QueuedBatch {
  readonly topic: string
  readonly partition: number
  /** Undefined while the batch is still being encoded. */
  batch: Buffer | undefined
  readonly acks: number
  readonly timeoutMs: number
  readonly resolve: (answer: PartitionProduceResponse) => void
  readonly reject: (error: unknown) => void
}

/**
 * Batches bound for one broker go out together, one produce request at a time per connection (up to
 * `maxRequestBytes`): a broker reads a connection's next request only once it has answered the one before
 * (with acks=all, once the followers have it), so a second request in flight would only wait in a socket
 * buffer. What becomes ready meanwhile joins the next request instead: two partitions led by the same
 * broker then cost one replication round trip, not two in a row (measured on 3 brokers: ~0.6x of
 * @platformatic/kafka's throughput before, which sends every partition in one request).
 *
 * A batch is queued as soon as its partition has it, before it is encoded: the next request waits for the
 * encodings under way. Otherwise the partition whose answer just came back (its next batch being
 * compressed) would miss the request that leaves on the next turn, and the partitions of one broker
 * would take turns, each waiting out the other's round trip.
 */
export class ProduceQueue {
  #waiting: QueuedBatch[] = []
  #scheduled = false
  #inFlight = false

  constructor(
    readonly connection: Pick<BrokerConnection, 'address' | 'request' | 'send' | 'produceApi'>,
    readonly maxRequestBytes: number,
    /** Where the batches' memory came from: each batch goes back there once its request is written. */
    readonly buffers?: BatchBuffers,
  ) {}

  add(pending: PendingBatch, acks: number, timeoutMs: number): Promise<PartitionProduceResponse> {
    return new Promise((resolve, reject) => {
      const { topic, partition, batch } = pending
      const entry: QueuedBatch = { topic, partition, batch: Buffer.isBuffer(batch) ? batch : undefined, acks, timeoutMs, resolve, reject }
      this.#waiting.push(entry)
      if (entry.batch === undefined) {
        void (batch as Promise<Buffer>).then(
          (bytes) => {
            entry.batch = bytes
            this.#schedule()
          },
          (error: unknown) => {
            this.#waiting = this.#waiting.filter((queued) => queued !== entry)
            reject(error)
            this.#schedule()
          },
        )
      }
      this.#schedule()
    })
  }

  /** Flushes on the next turn of the event loop, so that batches ready in this one go together. */
  #schedule(): void {
    if (this.#scheduled || this.#inFlight || this.#encodingUnderWay()) return
    this.#scheduled = true
    setImmediate(() => this.#flush())
  }

  /** Whether a queued batch is still being encoded (a few per broker at most: one per partition). */
  #encodingUnderWay(): boolean {
    return this.#waiting.some((queued) => queued.batch === undefined)
  }

  #flush(): void {
    this.#scheduled = false
    if (this.#inFlight || this.#encodingUnderWay() || this.#waiting.length === 0) return
    const first = this.#waiting[0]!
    const group: Array<QueuedBatch & { batch: Buffer }> = []
    const rest: QueuedBatch[] = []
    let bytes = 0
    for (const next of this.#waiting) {
      const batch = next.batch!
      // The first batch always goes, even alone over the limit (the sink keeps each batch within it).
      if (next.acks === first.acks && next.timeoutMs === first.timeoutMs && (group.length === 0 || bytes + batch.length <= this.maxRequestBytes)) {
        group.push({ ...next, batch })
        bytes += batch.length
      } else rest.push(next)
    }
    this.#waiting = rest
    this.#inFlight = true
    void this.#send(group).finally(() => {
      this.#inFlight = false
      this.#schedule()
    })
  }

  async #send(group: ReadonlyArray<QueuedBatch & { batch: Buffer }>): Promise<void> {
    const { acks, timeoutMs } = group[0]!
    const body = produceRequest(acks, timeoutMs, group)
    const { produceApi } = this.connection
    const written = (): void => {
      if (this.buffers !== undefined) for (const entry of group) this.buffers.release(entry.batch)
    }
    try {
      if (acks === 0) {
        await this.connection.send(produceApi, body)
        written()
        for (const entry of group) entry.resolve({ topic: entry.topic, partition: entry.partition, errorCode: 0, baseOffset: -1, logAppendTime: -1, errorMessage: null })
        return
      }
      const answers = readProduce(await this.connection.request(produceApi, body, timeoutMs, written), produceApi.version)
      for (const entry of group) {
        const answer = answers.find((a) => a.partition === entry.partition && a.topic === entry.topic)
        if (answer !== undefined) entry.resolve(answer)
        else entry.reject(new KafkaConnectionError(`${this.connection.address} answered a produce request without ${entry.topic}-${entry.partition}`, { topic: entry.topic, partition: entry.partition }))
      }
    } catch (error) {
      for (const entry of group) entry.reject(error)
    }
  }
}
