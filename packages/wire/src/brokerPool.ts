import type { ConnectionOptions } from 'node:tls'
import { KafkaConnectionError, TopicflowError } from '@topicflow/core'
import { BrokerConnection } from './connection.js'
import type { SaslOptions } from './sasl.js'

/** A broker's host and port. */
export interface BrokerAddress {
  readonly host: string
  readonly port: number
}

/** How the pool opens connections. */
export interface BrokerPoolOptions {
  readonly bootstrap: readonly BrokerAddress[]
  readonly clientId: string
  readonly tls: ConnectionOptions | undefined
  readonly sasl: SaslOptions | undefined
  /** Bound on opening one connection, TLS and SASL included (Java's `socket.connection.setup.timeout.ms`). */
  readonly connectTimeoutMs: number
  /** Called when an open connection to `address` closes: what was learned through it (leaders) may be stale. */
  readonly onBrokerLost: (address: BrokerAddress) => void
}

/**
 * The connections of one transport: at most one per broker, opened on first use and forgotten when they
 * close, and the brokers metadata named (node id → address). Producers, consumers and metadata requests
 * share them, as Java's `NetworkClient` does.
 */
export class BrokerPool {
  readonly #connections = new Map<string, Promise<BrokerConnection>>()
  /** Every broker metadata named so far, by node id. */
  readonly #nodes = new Map<number, BrokerAddress>()
  #closed = false

  constructor(readonly options: BrokerPoolOptions) {}

  /** The address of node `nodeId`, once metadata named it. */
  node(nodeId: number): BrokerAddress | undefined {
    return this.#nodes.get(nodeId)
  }

  /** Learns the brokers a metadata answer named. */
  learn(nodes: ReadonlyArray<{ readonly nodeId: number } & BrokerAddress>): void {
    for (const { nodeId, host, port } of nodes) this.#nodes.set(nodeId, { host, port })
  }

  /** A live connection if there is one, else the first bootstrap or known broker that answers. */
  async anyConnection(): Promise<BrokerConnection> {
    let lastError: unknown
    const candidates = [...this.options.bootstrap, ...this.#nodes.values()]
    for (const address of candidates) {
      const open = this.#connections.get(addressKey(address))
      if (open !== undefined) {
        try {
          return await open
        } catch (error) {
          lastError = error
        }
      }
    }
    for (const address of candidates) {
      try {
        return await this.connectionTo(address)
      } catch (error) {
        if (error instanceof TopicflowError && !error.retriable) throw error
        lastError = error
      }
    }
    throw lastError instanceof Error ? lastError : new KafkaConnectionError(`Cannot reach Kafka at ${this.options.bootstrap.map(addressKey).join(',')}`)
  }

  /** The connection to `address`, opened if there is none. */
  connectionTo(address: BrokerAddress): Promise<BrokerConnection> {
    if (this.#closed) return Promise.reject(new KafkaConnectionError('The transport is closed', { retriable: false }))
    const id = addressKey(address)
    const existing = this.#connections.get(id)
    if (existing !== undefined) return existing
    const { clientId, tls, sasl, connectTimeoutMs } = this.options
    const opening = BrokerConnection.open({ host: address.host, port: address.port, clientId, tls, sasl, connectTimeoutMs })
    this.#connections.set(id, opening)
    opening.then(
      (connection) =>
        connection.onClose(() => {
          if (this.#connections.get(id) === opening) this.#connections.delete(id)
          this.options.onBrokerLost(address)
        }),
      () => {
        if (this.#connections.get(id) === opening) this.#connections.delete(id)
      },
    )
    return opening
  }

  /** Closes every connection; later requests for one are refused. */
  async close(): Promise<void> {
    this.#closed = true
    const connections = [...this.#connections.values()]
    this.#connections.clear()
    await Promise.all(connections.map((c) => c.then((connection) => connection.close()).catch(() => undefined)))
  }
}

/** `host:port`, the key of an address. */
export function addressKey(address: BrokerAddress): string {
  return `${address.host}:${address.port}`
}

/** Parses a bootstrap server, `host:port` (IPv6 hosts in brackets). */
export function parseAddress(server: string): BrokerAddress {
  const colon = server.lastIndexOf(':')
  const port = Number(server.slice(colon + 1))
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new TypeError(`wireTransport: broker ${JSON.stringify(server)} is not host:port`)
  return { host: server.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port }
}
