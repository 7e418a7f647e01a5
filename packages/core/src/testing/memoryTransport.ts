import { asyncScheduler, type SchedulerLike } from 'rxjs'
import { UnknownTopicError } from '../errors.js'
import type { ProduceAck, ProduceRequest, ProducerSession, ProducerSessionOptions, Transport, WireRecord } from '../transport.js'

/** Options of `MemoryTransport`. */
export interface MemoryTransportOptions {
  /** Partition count per topic; topics not listed are unknown. */
  readonly topics: Readonly<Record<string, number>>
  /** Milliseconds each produce request takes. Default 0 (answers on the next tick). */
  readonly latencyMs?: number
  /** Milliseconds each metadata lookup (`partitionCount`) takes. Default 0. */
  readonly metadataLatencyMs?: number
  /** Called before each request is stored; throw to make it fail (inject broker errors in tests). */
  readonly beforeSend?: (request: ProduceRequest, attempt: number) => void
  /** Largest produce request (`max.request.size`). Default 1048576. */
  readonly maxRequestBytes?: number
  /** Clock of the latencies; a `VirtualScheduler` runs them in virtual time. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike
}

/**
 * An in-memory `Transport` for unit tests of operator logic: it stores what it is sent per
 * topic-partition and can fail requests on demand. It is no substitute for a broker in end-to-end tests.
 */
export class MemoryTransport implements Transport {
  readonly brokers = 'memory'
  get maxRequestBytes(): number {
    return this.options.maxRequestBytes ?? 1024 * 1024
  }
  /** Every request received, in order, including failed ones. */
  readonly requests: ProduceRequest[] = []
  /** The most requests in flight at once for one topic-partition (the sink promises 1). */
  maxInFlightPerPartition = 0
  /** The most requests in flight at once over all partitions. */
  maxInFlightTotal = 0
  #inFlightTotal = 0
  readonly #log = new Map<string, WireRecord[]>()
  readonly #inFlight = new Map<string, number>()
  #sessions = 0

  constructor(readonly options: MemoryTransportOptions) {}

  /** Records stored for a topic-partition, in offset order. */
  records(topic: string, partition: number): readonly WireRecord[] {
    return this.#log.get(`${topic}-${partition}`) ?? []
  }

  /** Producer sessions still open. */
  get openSessions(): number {
    return this.#sessions
  }

  async partitionCount(topic: string): Promise<number> {
    if ((this.options.metadataLatencyMs ?? 0) > 0) await this.#wait(this.options.metadataLatencyMs ?? 0)
    const count = this.options.topics[topic]
    if (count === undefined) throw new UnknownTopicError(topic, { retriable: false })
    return count
  }

  async openProducer(_options: ProducerSessionOptions): Promise<ProducerSession> {
    this.#sessions++
    let open = true
    return {
      send: (request) => this.#send(request),
      close: async () => {
        if (open) this.#sessions--
        open = false
      },
    }
  }

  async close(): Promise<void> {}

  async #send(request: ProduceRequest): Promise<ProduceAck> {
    const id = `${request.topic}-${request.partition}`
    this.requests.push(request)
    const inFlight = (this.#inFlight.get(id) ?? 0) + 1
    this.#inFlight.set(id, inFlight)
    this.maxInFlightPerPartition = Math.max(this.maxInFlightPerPartition, inFlight)
    this.maxInFlightTotal = Math.max(this.maxInFlightTotal, ++this.#inFlightTotal)
    try {
      await this.#wait(this.options.latencyMs ?? 0)
      const attempt = this.requests.filter((r) => r.topic === request.topic && r.partition === request.partition && r.records[0] === request.records[0]).length
      this.options.beforeSend?.(request, attempt)
      const log = this.#log.get(id) ?? []
      this.#log.set(id, log)
      const baseOffset = log.length
      log.push(...request.records)
      return { baseOffset: request.acks === 0 ? -1 : baseOffset, logAppendTime: -1 }
    } finally {
      this.#inFlight.set(id, (this.#inFlight.get(id) ?? 1) - 1)
      this.#inFlightTotal--
    }
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => (this.options.scheduler ?? asyncScheduler).schedule(() => resolve(), ms))
  }
}
