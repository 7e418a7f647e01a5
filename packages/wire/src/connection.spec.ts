import { createServer, type AddressInfo, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { KafkaConnectionError } from '@topicflow/core'
import { Writer } from './protocol.js'
import { BrokerConnection } from './connection.js'
import type { SaslOptions } from './sasl.js'

type Ranges = Record<number, readonly [min: number, max: number]>

/** Each Kafka release's ApiVersions answer, for the APIs the transport checks (Produce, Metadata, SaslHandshake, InitProducerId, SaslAuthenticate). */
const KAFKA_2_0: Ranges = { 0: [0, 6], 3: [0, 6], 17: [0, 1], 22: [0, 1], 36: [0, 0] }
const KAFKA_2_1: Ranges = { 0: [0, 7], 3: [0, 7], 17: [0, 1], 22: [0, 1], 36: [0, 0] }
const KAFKA_2_4: Ranges = { 0: [0, 8], 3: [0, 9], 17: [0, 1], 22: [0, 2], 36: [0, 1] }

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

/** A broker that answers ApiVersions v0 with `ranges` and nothing else; resolves with its port. */
async function fakeBroker(ranges: Ranges): Promise<number> {
  const server = createServer((socket) => {
    socket.once('data', (request) => {
      const correlationId = request.readInt32BE(8)
      const body = new Writer()
        .int32(0) // size, set below
        .int32(correlationId)
        .int16(0)
        .array(Object.entries(ranges), ([key, [min, max]], w) => w.int16(Number(key)).int16(min).int16(max))
        .toBuffer()
      body.writeInt32BE(body.length - 4, 0)
      socket.write(body)
    })
    socket.on('error', () => undefined)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

const open = async (ranges: Ranges, sasl?: SaslOptions): Promise<BrokerConnection> =>
  BrokerConnection.open({ host: '127.0.0.1', port: await fakeBroker(ranges), clientId: 'spec', tls: undefined, sasl, connectTimeoutMs: 2_000 })

describe('BrokerConnection version check', () => {
  it('speaks Produce v8 to a broker that offers it, and v7 to Kafka 2.1 to 2.3', async () => {
    const current = await open(KAFKA_2_4)
    const old = await open(KAFKA_2_1)
    expect(current.produceApi.version).toBe(8)
    expect(old.produceApi.version).toBe(7)
    current.close()
    old.close()
  })

  it('refuses Kafka 2.0, naming the broker, what it offers and the floor', async () => {
    const error = await open(KAFKA_2_0).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KafkaConnectionError)
    expect((error as KafkaConnectionError).retriable).toBe(false)
    expect((error as Error).message).toMatch(/^The broker at 127\.0\.0\.1:\d+ does not speak Produce v8 or v7 \(it offers v0–v6\); topicflow's wire transport needs Kafka 2\.1 or later$/)
  })

  it('with SASL, needs SaslAuthenticate v1 and so Kafka 2.2', async () => {
    const error = await open(KAFKA_2_1, { mechanism: 'plain', username: 'u', password: 'p' }).catch((e: unknown) => e)
    expect((error as Error).message).toContain('does not speak SaslAuthenticate v1 (it offers v0–v0)')
    expect((error as Error).message).toContain('needs Kafka 2.2 or later with SASL')
  })
})
