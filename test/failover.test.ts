import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import kafkajs from 'kafkajs'
import { createTopicsAndWait } from '@topicflow/kafkajs'
import { batch, fromAsyncIterable, json, KafkaSink, key, partition, retry, serialize, toKafka, type AcksLevel } from '@topicflow/core'
import type { KafkaCluster } from '@topicflow/testkit'
import { makeTransport, startOwnCluster, TRANSPORT_NAMES, type TransportName } from './support.js'

// Three brokers of this file's own (replication factor 3, min.insync.replicas 2), killed under the producer.
let cluster: KafkaCluster | undefined
const RECORDS = 300_000
const KEYS = 1000

beforeAll(async () => {
  cluster = await startOwnCluster({ brokers: 3 })
}, 300_000)
afterAll(async () => cluster?.stop())

interface Event {
  key: string
  seq: number
}

async function admin<V>(use: (admin: kafkajs.Admin) => Promise<V>): Promise<V> {
  const client = new kafkajs.Kafka({ brokers: cluster!.bootstrapServers.split(','), logLevel: kafkajs.logLevel.NOTHING }).admin()
  await client.connect()
  try {
    return await use(client)
  } finally {
    await client.disconnect()
  }
}

/** The broker (index into cluster.brokers) leading most of the topic's partitions. */
async function busiestLeader(topic: string): Promise<number> {
  // Right after a restart an election may still be running (leader -1, or metadata refused): ask again.
  for (;;) {
    const metadata = await admin((a) => a.fetchTopicMetadata({ topics: [topic] })).catch(() => undefined)
    const counts = new Map<number, number>()
    for (const p of metadata?.topics[0]?.partitions ?? []) if (p.leader >= 0) counts.set(p.leader, (counts.get(p.leader) ?? 0) + 1)
    const leaderId = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0]
    const index = cluster!.brokers.findIndex((b) => b.id === leaderId)
    if (index >= 0) return index
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** Reads every record of the topic with kcat (librdkafka), in partition order: key and value. */
function readAll(topic: string): Promise<Array<{ partition: number; key: string; seq: number }>> {
  return new Promise((resolve, reject) =>
    execFile('kcat', ['-b', cluster!.bootstrapServers, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p %k %s\\n'], { maxBuffer: 1 << 30, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`kcat: ${stderr || error.message}`))
      resolve(
        stdout
          .split('\n')
          .filter(Boolean)
          .map((line) => {
            const [p, k, value] = line.split(' ')
            return { partition: Number(p), key: k!, seq: (JSON.parse(value!) as Event).seq }
          }),
      )
    }),
  )
}

/** Produces RECORDS keyed events while the busiest leader is SIGKILLed and restarted twice; returns what landed. */
async function produceThroughFailover(acks: AcksLevel | 'all', transportName: TransportName) {
  const topic = `failover-${transportName}-acks-${acks}-${Date.now()}`
  await admin((a) => createTopicsAndWait(a, { topics: [{ topic, numPartitions: 6, replicationFactor: 3 }] }))
  const transport = makeTransport(transportName, { brokers: cluster!.bootstrapServers.split(','), connectionTimeout: 1000 })
  const sink = new KafkaSink<Event>(transport, { acks, onError: 'report', requestTimeoutMs: 5000 })
  let read = 0
  async function* events(): AsyncGenerator<Event> {
    for (let i = 0; i < RECORDS; i++) {
      read++
      yield { key: `k${i % KEYS}`, seq: i }
    }
  }
  let delivered = 0
  let failed = 0
  const kills: number[] = []
  const done = new Promise<void>((resolve, reject) =>
    fromAsyncIterable(events(), sink)
      .pipe(serialize(topic, json<Event>()), key((e) => e.key), partition(sink), batch({ lingerMs: 5, maxBytes: 64 * 1024 }), retry({ deliveryTimeoutMs: 120_000 }), toKafka(sink))
      .subscribe({ next: (r) => (r.status === 'delivered' ? delivered++ : failed++), error: reject, complete: resolve }),
  )
  for (const at of [0.3, 0.6]) {
    while (read < RECORDS * at) await new Promise((resolve) => setTimeout(resolve, 20))
    const victim = await busiestLeader(topic)
    kills.push(victim)
    await cluster!.killBroker(victim)
    await new Promise((resolve) => setTimeout(resolve, 3000))
    await cluster!.startBroker(victim)
  }
  await done
  await transport.close()
  const landed = await readAll(topic)
  const seen = new Map<number, number>()
  for (const r of landed) seen.set(r.seq, (seen.get(r.seq) ?? 0) + 1)
  const lost = RECORDS - seen.size
  const duplicated = [...seen.values()].filter((n) => n > 1).length
  // Per-key order: within a key's partition, sequence numbers only grow.
  let outOfOrder = 0
  const lastByKey = new Map<string, number>()
  for (const r of landed) {
    const last = lastByKey.get(r.key)
    if (last !== undefined && r.seq < last) outOfOrder++
    lastByKey.set(r.key, Math.max(last ?? -1, r.seq))
  }
  return { delivered, failed, landed: landed.length, lost, duplicated, outOfOrder, kills }
}

describe('failover: the leader SIGKILLed twice mid-stream (3 real brokers)', () => {
  it.each(TRANSPORT_NAMES)('acks=all with idempotence (%s transport): 0 lost, 0 duplicated, per-key order kept', async (transportName) => {
    const result = await produceThroughFailover('all', transportName)
    console.log(`failover acks=all, ${transportName}: ${JSON.stringify(result)}`)
    expect(result.kills).toHaveLength(2)
    expect(result.failed).toBe(0)
    expect(result.delivered).toBe(RECORDS)
    expect(result.lost).toBe(0)
    expect(result.duplicated).toBe(0)
    expect(result.outOfOrder).toBe(0)
    expect(result.landed).toBe(RECORDS)
  })

  it('acks=1: every event is settled (delivered or failed, none hangs); what a leader kill costs is reported', async () => {
    const result = await produceThroughFailover(1, 'wire')
    // acks=1 gives up the guarantee: acknowledged records can be lost with the leader, and retries can
    // duplicate. The figures go to docs/RELIABILITY.md; what must hold is the ledger.
    console.log(`failover acks=1: ${JSON.stringify(result)}`)
    expect(result.kills).toHaveLength(2)
    expect(result.delivered + result.failed).toBe(RECORDS)
  })

  it('topicflow produce with acks all and idempotence keeps the same guarantees (retries at the Java producer default)', async () => {
    const topic = `failover-cli-${Date.now()}`
    const lines = 100_000
    await admin((a) => createTopicsAndWait(a, { topics: [{ topic, numPartitions: 6, replicationFactor: 3 }] }))
    const cli = fileURLToPath(new URL('../packages/cli/bin/topicflow.js', import.meta.url))
    const child = spawn(process.execPath, [
      cli, 'produce',
      '--bootstrap-server', cluster!.bootstrapServers,
      '--topic', topic,
      '--property', 'parse.key=true',
      '--request-required-acks', 'all',
      '--producer-property', 'enable.idempotence=true',
      // Kafka's console tool defaults to 3 retries, which a leader election outlasts; the Java producer's own default is MAX_INT.
      '--message-send-max-retries', '2147483647',
      '--request-timeout-ms', '5000',
      '--timeout', '5',
    ])
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    // Feed the lines slowly enough that the kills land mid-stream.
    const feeding = (async () => {
      for (let i = 0; i < lines; i += 1000) {
        const chunk = Array.from({ length: 1000 }, (_, j) => `k${(i + j) % KEYS}\t{"key":"k${(i + j) % KEYS}","seq":${i + j}}`).join('\n') + '\n'
        if (!child.stdin.write(chunk)) await new Promise((resolve) => child.stdin.once('drain', resolve))
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
      child.stdin.end()
    })()
    // Progress at the broker; during an election ListOffsets answers LEADER_NOT_AVAILABLE: ask again later.
    let lastCount = 0
    const landedCount = async () => {
      try {
        lastCount = (await admin((a) => a.fetchTopicOffsets(topic))).reduce((n, p) => n + Number(p.high), 0)
      } catch {
        // keep the last count; the loop polls again
      }
      return lastCount
    }
    for (const at of [0.3, 0.6]) {
      while ((await landedCount()) < lines * at) await new Promise((resolve) => setTimeout(resolve, 100))
      const victim = await busiestLeader(topic)
      await cluster!.killBroker(victim)
      await new Promise((resolve) => setTimeout(resolve, 3000))
      await cluster!.startBroker(victim)
    }
    await feeding
    expect(await exited, stderr).toBe(0)
    expect(stderr).toContain(`${lines} delivered, 0 failed`)
    const landed = await readAll(topic)
    const seqs = new Set(landed.map((r) => r.seq))
    expect(landed).toHaveLength(lines)
    expect(seqs.size).toBe(lines)
    const lastByKey = new Map<string, number>()
    let outOfOrder = 0
    for (const r of landed) {
      if ((lastByKey.get(r.key) ?? -1) > r.seq) outOfOrder++
      lastByKey.set(r.key, r.seq)
    }
    expect(outOfOrder).toBe(0)
  })
})
