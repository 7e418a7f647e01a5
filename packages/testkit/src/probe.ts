import { connect } from 'node:net'

/**
 * Asks a broker for cluster metadata with a raw Kafka Metadata request (v4, no topics) and returns the
 * ids of the brokers it knows, or throws if it does not answer. Hand-encoded so the testkit needs no
 * Kafka client.
 */
export function probeBrokers(host: string, port: number, timeoutMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const clientId = Buffer.from('topicflow-testkit')
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1)
    let at = 0
    at = body.writeInt16BE(3, at) // api key: Metadata
    at = body.writeInt16BE(4, at) // version 4
    at = body.writeInt32BE(1, at) // correlation id
    at = body.writeInt16BE(clientId.length, at)
    at += clientId.copy(body, at)
    at = body.writeInt32BE(0, at) // topics: an empty array, none
    body.writeInt8(0, at) // allow_auto_topic_creation: false
    const size = Buffer.alloc(4)
    size.writeInt32BE(body.length)

    const socket = connect({ host, port })
    const timer = setTimeout(() => fail(new Error(`no metadata answer from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs)
    let received = Buffer.alloc(0)
    const fail = (error: Error): void => {
      clearTimeout(timer)
      socket.destroy()
      reject(error)
    }
    socket.on('connect', () => socket.write(Buffer.concat([size, body])))
    socket.on('error', fail)
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk])
      if (received.length < 4 || received.length < 4 + received.readInt32BE(0)) return
      clearTimeout(timer)
      socket.destroy()
      try {
        // correlation id, throttle time, then the broker array: node id, host, port, rack.
        let offset = 4 + 4 + 4
        const count = received.readInt32BE(offset)
        offset += 4
        const ids: number[] = []
        for (let i = 0; i < count; i++) {
          ids.push(received.readInt32BE(offset))
          offset += 4
          offset += 2 + received.readInt16BE(offset)
          offset += 4
          const rack = received.readInt16BE(offset)
          offset += 2 + Math.max(0, rack)
        }
        resolve(ids)
      } catch (error) {
        reject(error as Error)
      }
    })
  })
}
