import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import avro from 'avsc'
import { InvalidOptionError } from '@topicflow/core'
import { avroSerializer, AvroValidationError } from './avroSerializer.js'
import { SchemaRegistryError } from './registryClient.js'

// These specs check our side of the HTTP exchange (headers, paths, wire format) against a local listener
// that answers one schema by id. The registry's behaviour is tested against a real one in test/avro.test.ts.
const SCHEMA = { type: 'record', name: 'Point', fields: [{ name: 'x', type: 'int' }, { name: 'label', type: ['null', 'string'], default: null }] }
const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = []
const server = createServer((request, response) => {
  seen.push({ url: request.url ?? '', headers: request.headers })
  if (request.url === '/schemas/ids/258') {
    response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ schema: JSON.stringify(SCHEMA) }))
  } else {
    response.writeHead(500).end('{"message":"boom"}')
  }
})
let url = ''
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => void server.close())

describe('avroSerializer', () => {
  it('writes magic byte 0, the 4-byte big-endian schema id, then avsc’s Avro binary', async () => {
    const serialize = await avroSerializer<{ x: number; label: string | null }>({ registry: url, topic: 't', registryId: 258 })
    const bytes = serialize({ x: -3, label: 'a' })!
    expect([...bytes.subarray(0, 5)]).toEqual([0, 0, 0, 1, 2])
    expect(bytes.subarray(5)).toEqual(avro.Type.forSchema(SCHEMA as avro.Schema).toBuffer({ x: -3, label: 'a' }))
  })

  it('grows its scratch buffer for large values', async () => {
    const serialize = await avroSerializer<{ x: number; label: string | null }>({ registry: url, topic: 't', registryId: 258 })
    const label = 'y'.repeat(100_000)
    expect(avro.Type.forSchema(SCHEMA as avro.Schema).fromBuffer(serialize({ x: 1, label })!.subarray(5))).toEqual({ x: 1, label })
  })

  it('names every field that does not match the schema', async () => {
    const serialize = await avroSerializer<unknown>({ registry: url, topic: 't', registryId: 258 })
    const error = (() => {
      try {
        serialize({ x: 1.5, label: 7 })
      } catch (e) {
        return e
      }
    })() as AvroValidationError
    expect(error).toBeInstanceOf(AvroValidationError)
    expect(error.paths).toEqual(['x', 'label'])
    expect(error.sources).toEqual([{ x: 1.5, label: 7 }])
  })

  it('sends basic auth when given, and retries a 5xx before a typed error', async () => {
    seen.length = 0
    await avroSerializer({ registry: { url, username: 'u', password: 'p' }, topic: 't', registryId: 258 })
    expect(seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`)
    seen.length = 0
    const error = await avroSerializer({ registry: url, topic: 't', schema: SCHEMA, registryAttempts: 2 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SchemaRegistryError)
    expect((error as SchemaRegistryError).status).toBe(500)
    expect(seen.map((r) => r.url)).toEqual(['/subjects/t-value/versions', '/subjects/t-value/versions'])
  })

  it('refuses bad options with an error that names them', async () => {
    await expect(avroSerializer({ registry: url, topic: 't' })).rejects.toThrow(InvalidOptionError)
    await expect(avroSerializer({ registry: url, topic: 't', schema: SCHEMA, registryId: 1 })).rejects.toThrow(/avroSerializer.schema/)
    await expect(avroSerializer({ registry: 'localhost:8081', topic: 't', schema: SCHEMA })).rejects.toThrow(/avroSerializer.registry/)
    await expect(avroSerializer({ registry: url, topic: 't', schema: '{not json' })).rejects.toThrow(/avroSerializer.schema/)
    await expect(avroSerializer({ registry: url, topic: 't', schema: { type: 'string' }, subjectNameStrategy: 'record' })).rejects.toThrow(/subjectNameStrategy/)
  })
})
