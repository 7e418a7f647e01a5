import { connect as connectTcp, type Socket } from 'node:net'
import { connect as connectTls, type ConnectionOptions } from 'node:tls'
import { BrokerUnavailableError, KafkaConnectionError } from '@topicflow/core'
import { messageOf } from '@topicflow/core/internal'
import { Reader, Writer, requestFrame } from './protocol.js'
import { mechanismName, saslConversation, type SaslOptions } from './sasl.js'
import { kafkaErrorCode } from './kafkaErrors.js'

/**
 * The API keys this transport uses, the (non-flexible) version of each it speaks, and the first Kafka
 * release whose brokers speak that version (what the message to an older broker names as the floor).
 */
export const API = {
  produce: { key: 0, version: 8, name: 'Produce', since: '2.4' },
  /**
   * For brokers that offer no Produce v8 (Kafka 2.1 to 2.3): the request is the same (record batch v2,
   * zstd allowed since v7); the answer lacks v8's record_errors and error_message (KIP-467).
   */
  produceV7: { key: 0, version: 7, name: 'Produce', since: '2.1' },
  fetch: { key: 1, version: 11, name: 'Fetch', since: '2.3' },
  listOffsets: { key: 2, version: 5, name: 'ListOffsets', since: '2.2' },
  metadata: { key: 3, version: 7, name: 'Metadata', since: '2.1' },
  offsetCommit: { key: 8, version: 7, name: 'OffsetCommit', since: '2.3' },
  offsetFetch: { key: 9, version: 5, name: 'OffsetFetch', since: '2.1' },
  findCoordinator: { key: 10, version: 2, name: 'FindCoordinator', since: '2.0' },
  joinGroup: { key: 11, version: 5, name: 'JoinGroup', since: '2.3' },
  heartbeat: { key: 12, version: 3, name: 'Heartbeat', since: '2.3' },
  leaveGroup: { key: 13, version: 3, name: 'LeaveGroup', since: '2.4' },
  syncGroup: { key: 14, version: 3, name: 'SyncGroup', since: '2.3' },
  saslHandshake: { key: 17, version: 1, name: 'SaslHandshake', since: '1.0' },
  apiVersions: { key: 18, version: 0, name: 'ApiVersions', since: '0.10' },
  initProducerId: { key: 22, version: 1, name: 'InitProducerId', since: '2.0' },
  saslAuthenticate: { key: 36, version: 1, name: 'SaslAuthenticate', since: '2.2' },
} as const
export type Api = (typeof API)[keyof typeof API]
export type ProduceApi = typeof API.produce | typeof API.produceV7

/** What the consumer needs of every broker it talks to (Kafka 2.4 and later speak all of them). */
export const CONSUMER_APIS: readonly Api[] = [API.fetch, API.listOffsets, API.offsetCommit, API.offsetFetch, API.findCoordinator, API.joinGroup, API.heartbeat, API.leaveGroup, API.syncGroup]

/** How to reach and authenticate with a broker. */
export interface BrokerConnectionOptions {
  readonly host: string
  readonly port: number
  readonly clientId: string
  readonly tls: ConnectionOptions | undefined
  readonly sasl: SaslOptions | undefined
  readonly connectTimeoutMs: number
}

interface InFlight {
  readonly api: Api
  readonly resolve: (body: Reader) => void
  readonly reject: (error: Error) => void
  readonly timer: NodeJS.Timeout
}

/**
 * One TCP (or TLS) connection to one broker: requests are pipelined, answered in order and matched by
 * correlation id. A request that outlives its timeout closes the connection, as Java's client does, since
 * the answers behind it can no longer be trusted to come; everything in flight then fails retriably.
 */
export class BrokerConnection {
  readonly address: string
  #socket: Socket | undefined
  #nextCorrelationId = 1
  readonly #inFlight = new Map<number, InFlight>()
  /** Bytes received and not yet a whole response: the chunks as they came, joined once a response is whole. */
  #chunks: Buffer[] = []
  #receivedBytes = 0
  /** The size of the response being received (its int32 size + 4), or -1 before its size is known. */
  #expected = -1
  /** The version range the broker offers of each API key. */
  #offered = new Map<number, readonly [number, number]>()
  #closedBy: Error | undefined
  readonly #onClose = new Set<() => void>()
  #produceApi: ProduceApi = API.produce

  private constructor(readonly options: BrokerConnectionOptions) {
    this.address = `${options.host}:${options.port}`
  }

  /** Connects, checks the broker speaks the versions this transport needs, and authenticates. */
  static async open(options: BrokerConnectionOptions): Promise<BrokerConnection> {
    const connection = new BrokerConnection(options)
    await connection.#connect()
    try {
      await connection.#checkVersions()
      if (options.sasl !== undefined) await connection.#authenticate(options.sasl)
    } catch (error) {
      connection.close()
      throw error
    }
    return connection
  }

  /** Produce at the version this broker speaks, found when connecting: v8, or v7 from Kafka 2.1 to 2.3. */
  get produceApi(): ProduceApi {
    return this.#produceApi
  }

  get closed(): boolean {
    return this.#closedBy !== undefined
  }

  /** Calls `listener` once the connection is closed, whatever closed it. */
  onClose(listener: () => void): void {
    if (this.closed) listener()
    else this.#onClose.add(listener)
  }

  /**
   * Sends a request and resolves with a reader positioned at the response body. `written` is called once
   * the socket has taken the whole request (so its buffers may be reused), not if writing failed.
   */
  request(api: Api, body: readonly Buffer[], timeoutMs: number, written?: () => void): Promise<Reader> {
    return new Promise<Reader>((resolve, reject) => {
      const correlationId = this.#nextRequest(reject)
      if (correlationId === undefined) return
      const timer = setTimeout(() => {
        this.#fail(new KafkaConnectionError(`${api.name} request to ${this.address} got no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#inFlight.set(correlationId, { api, resolve, reject, timer })
      this.#write(requestFrame(api.key, api.version, correlationId, this.options.clientId, body), written && ((error) => error || written()))
    })
  }

  /** Sends a request the broker does not answer (Produce with acks 0); resolves once written to the socket. */
  send(api: Api, body: readonly Buffer[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const correlationId = this.#nextRequest(reject)
      if (correlationId === undefined) return
      this.#write(requestFrame(api.key, api.version, correlationId, this.options.clientId, body), (error) =>
        error ? reject(new KafkaConnectionError(`Writing to ${this.address} failed: ${error.message}`, { cause: error })) : resolve(),
      )
    })
  }

  /** The next correlation id, or undefined (the request rejected) when the connection is not open. */
  #nextRequest(reject: (error: Error) => void): number | undefined {
    if (this.#socket === undefined || this.#closedBy !== undefined) {
      // Nothing was written: callers may try again elsewhere without the request being in doubt.
      const reason = this.#closedBy === undefined ? 'is not open' : `closed before the request was sent (${this.#closedBy.message})`
      reject(new BrokerUnavailableError(`Connection to ${this.address} ${reason}`, { cause: this.#closedBy }))
      return undefined
    }
    const correlationId = this.#nextCorrelationId
    this.#nextCorrelationId = (this.#nextCorrelationId + 1) & 0x7fffffff
    return correlationId
  }

  close(): void {
    this.#fail(new KafkaConnectionError(`Connection to ${this.address} was closed`))
  }

  #write(parts: readonly Buffer[], done?: (error: Error | null | undefined) => void): void {
    const socket = this.#socket!
    socket.cork()
    for (let i = 0; i < parts.length - 1; i++) socket.write(parts[i]!)
    socket.write(parts[parts.length - 1]!, done)
    socket.uncork()
  }

  #connect(): Promise<void> {
    const { host, port, tls, connectTimeoutMs } = this.options
    return new Promise<void>((resolve, reject) => {
      const socket = tls === undefined ? connectTcp({ host, port, noDelay: true }) : connectTls({ host, port, servername: isIp(host) ? undefined : host, ...tls })
      socket.setNoDelay(true)
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new KafkaConnectionError(`Cannot connect to Kafka at ${this.address}: no answer within ${connectTimeoutMs} ms`))
      }, connectTimeoutMs)
      const onError = (error: Error): void => {
        clearTimeout(timer)
        socket.destroy()
        reject(new KafkaConnectionError(`Cannot connect to Kafka at ${this.address}: ${messageOf(error)}`, { cause: error }))
      }
      socket.once('error', onError)
      socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer)
        socket.off('error', onError)
        this.#socket = socket
        socket.on('data', (chunk: Buffer) => this.#receive(chunk))
        socket.on('error', (error) => this.#fail(new KafkaConnectionError(`Connection to ${this.address} failed: ${error.message}`, { cause: error })))
        socket.on('close', () => this.#fail(new KafkaConnectionError(`Connection to ${this.address} was closed by the broker`)))
        resolve()
      })
    })
  }

  /**
   * Frames responses out of the socket's chunks. A fetch response of megabytes arrives in many chunks;
   * they are joined once, when the response is whole (joining per chunk would copy it over and over).
   */
  #receive(chunk: Buffer): void {
    this.#chunks.push(chunk)
    this.#receivedBytes += chunk.length
    for (;;) {
      if (this.#expected < 0) {
        if (this.#receivedBytes < 4) return
        if (this.#chunks[0]!.length < 4) this.#join()
        this.#expected = 4 + this.#chunks[0]!.readInt32BE(0)
      }
      if (this.#receivedBytes < this.#expected) return
      const data = this.#chunks.length === 1 ? this.#chunks[0]! : this.#join()
      const response = data.subarray(0, this.#expected)
      const rest = data.subarray(this.#expected)
      this.#chunks = rest.length === 0 ? [] : [rest]
      this.#receivedBytes = rest.length
      this.#expected = -1
      this.#answer(response)
    }
  }

  #join(): Buffer {
    const joined = Buffer.concat(this.#chunks, this.#receivedBytes)
    this.#chunks = [joined]
    return joined
  }

  #answer(response: Buffer): void {
    const waiting = this.#inFlight.get(response.readInt32BE(4))
    if (waiting === undefined) return
    this.#inFlight.delete(response.readInt32BE(4))
    clearTimeout(waiting.timer)
    waiting.resolve(new Reader(response, 8))
  }

  /** Whether the broker speaks `api` at the version this transport uses. */
  speaks(api: Api): boolean {
    const range = this.#offered.get(api.key)
    return range !== undefined && api.version >= range[0] && api.version <= range[1]
  }

  #fail(error: Error): void {
    if (this.#closedBy !== undefined) return
    this.#closedBy = error
    this.#socket?.destroy()
    for (const waiting of this.#inFlight.values()) {
      clearTimeout(waiting.timer)
      waiting.reject(error)
    }
    this.#inFlight.clear()
    for (const listener of this.#onClose) listener()
    this.#onClose.clear()
  }

  async #checkVersions(): Promise<void> {
    const body = await this.request(API.apiVersions, [], this.options.connectTimeoutMs)
    const errorCode = body.int16()
    if (errorCode !== 0) throw new KafkaConnectionError(`ApiVersions at ${this.address} failed: ${kafkaErrorCode(errorCode).name}`, { retriable: false })
    const ranges = new Map(body.array((r) => [r.int16(), [r.int16(), r.int16()] as const] as const))
    this.#offered = ranges
    // Each API this connection needs, as the versions this transport can speak, preferred first.
    const needed: ReadonlyArray<readonly Api[]> = [
      [API.produce, API.produceV7],
      [API.metadata],
      [API.initProducerId],
      ...(this.options.sasl === undefined ? [] : [[API.saslHandshake], [API.saslAuthenticate]]),
    ]
    for (const versions of needed) {
      const first = versions[0]!
      const range = ranges.get(first.key)
      const spoken = versions.find((api) => range !== undefined && api.version >= range[0] && api.version <= range[1])
      if (spoken === undefined) {
        // The oldest Kafka that speaks something of every need: for each need its oldest version, the newest of those.
        const floor = needed.map((choices) => choices[choices.length - 1]!.since).sort((a, b) => b.localeCompare(a, 'en', { numeric: true }))[0]
        const offered = range === undefined ? 'none' : `v${range[0]}–v${range[1]}`
        throw new KafkaConnectionError(
          `The broker at ${this.address} does not speak ${first.name} ${versions.map((api) => `v${api.version}`).join(' or ')} (it offers ${offered}); ` +
            `topicflow's wire transport needs Kafka ${floor} or later${this.options.sasl === undefined ? '' : ' with SASL'}`,
          { retriable: false },
        )
      }
      if (spoken === API.produce || spoken === API.produceV7) this.#produceApi = spoken
    }
  }

  async #authenticate(sasl: SaslOptions): Promise<void> {
    const timeout = this.options.connectTimeoutMs
    const refused = (reason: string): KafkaConnectionError =>
      new KafkaConnectionError(`Authentication failed at ${this.address} (SASL ${mechanismName(sasl)}, user ${JSON.stringify(sasl.username)}): ${reason}`, { retriable: false })
    const handshake = await this.request(API.saslHandshake, [new Writer(32).string(mechanismName(sasl)).toBuffer()], timeout)
    const handshakeError = handshake.int16()
    if (handshakeError !== 0) {
      const offered = handshake.array((r) => r.string())
      throw refused(`${kafkaErrorCode(handshakeError).name}; the broker offers ${offered.join(', ') || 'no mechanism'}`)
    }
    let step: ReturnType<typeof saslConversation> | undefined = saslConversation(sasl)
    while (step !== undefined) {
      const answer = await this.request(API.saslAuthenticate, [new Writer(step.send.length + 8).bytes(step.send).toBuffer()], timeout)
      const errorCode = answer.int16()
      const errorMessage = answer.string()
      if (errorCode !== 0) throw refused(errorMessage ?? kafkaErrorCode(errorCode).name)
      try {
        step = step.receive(answer.bytes() ?? Buffer.alloc(0))
      } catch (error) {
        throw refused(messageOf(error))
      }
    }
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':')
}
