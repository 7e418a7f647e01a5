import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { lastValueFrom, map, range, toArray } from 'rxjs'
import kafkajs from 'kafkajs'
import { batch, compress, json, key, partition, serialize, toKafka } from '@topicflow/core'
import { wireTransport } from '@topicflow/wire'
import { brokers, createTopic, readTopic, uniqueTopic } from './support.js'

const EXAMPLE = fileURLToPath(new URL('../examples/etl-enrich/dist/main.js', import.meta.url))
const ORDERS = 300_000
const PARTITIONS = 12
const SESSION_TIMEOUT_MS = 6_000

interface Instance {
  readonly child: ChildProcess
  stdout: string
  stderr: string
  readonly exited: Promise<number | null>
}

function startInstance(env: Record<string, string>): Instance {
  const child = spawn(process.execPath, [EXAMPLE], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const instance: Instance = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  }
  child.stdout!.on('data', (chunk: Buffer) => (instance.stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (instance.stderr += chunk.toString()))
  return instance
}

function summaryOf(instance: Instance): { consumed: number; produced: number; committed: number } {
  const last = instance.stdout.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(last) as { consumed: number; produced: number; committed: number }
  } catch {
    throw new Error(`no summary line: stdout ${JSON.stringify(instance.stdout.slice(-500))}, stderr ${JSON.stringify(instance.stderr.slice(-2000))}`)
  }
}

const admin = new kafkajs.Kafka({ brokers: brokers().split(','), logLevel: kafkajs.logLevel.NOTHING }).admin()
afterAll(() => admin.disconnect())

async function endOffsets(topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0)
}

async function committed(groupId: string, topic: string): Promise<number[]> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
  return (offsets?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => Math.max(0, Number(p.offset)))
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

describe('examples/etl-enrich: three instances in one group', () => {
  it(
    `share a ${PARTITIONS}-partition topic of ${ORDERS.toLocaleString('en')} orders; one SIGKILLed mid-stream and restarted loses nothing`,
    async () => {
      await admin.connect()
      const input = uniqueTopic('etl-orders')
      const output = uniqueTopic('etl-enriched')
      const groupId = uniqueTopic('etl-group')
      await createTopic(input, PARTITIONS)
      await createTopic(output, PARTITIONS)
      const transport = wireTransport({ brokers: brokers().split(',') })
      const reports = await lastValueFrom(
        range(0, ORDERS).pipe(
          map((id) => ({ id, store: `store-${id % 97}`, items: [{ qty: 1 + (id % 4), priceCents: 700 }] })),
          serialize(input, json()),
          key((order) => order.store),
          partition(transport),
          batch({ maxBytes: 256 * 1024 }),
          compress('lz4'),
          toKafka(transport),
          toArray(),
        ),
      )
      await transport.close()
      expect(reports.filter((r) => r.status === 'delivered')).toHaveLength(ORDERS)

      const env = { KAFKA_BROKERS: brokers(), INPUT_TOPIC: input, OUTPUT_TOPIC: output, GROUP_ID: groupId, EXIT_WHEN_IDLE_MS: '8000', SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS) }
      const instances = [startInstance(env), startInstance(env), startInstance(env)]
      // All three hold partitions, and the job is under way, before one is killed.
      await until(
        'three members with partitions',
        async () => {
          const { groups } = await admin.describeGroups([groupId])
          const members = groups[0]?.members ?? []
          const owns = (m: (typeof members)[number]): boolean => Object.values(kafkajs.AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {}).some((partitions) => partitions.length > 0)
          return members.length === 3 && members.every(owns) && (await endOffsets(output)) > ORDERS / 10
        },
        90_000,
      )
      const victim = instances[1]!
      victim.child.kill('SIGKILL')
      await victim.exited
      const atKill = await committed(groupId, input)
      const inputEnds = (await admin.fetchTopicOffsets(input)).sort((a, b) => a.partition - b.partition).map((p) => Number(p.high))
      // The survivors take the victim's partitions once its session times out: every partition's commit moves (or is at its end).
      const killedAt = Date.now()
      await until(
        'every partition committed past its offset at the kill',
        async () => (await committed(groupId, input)).every((offset, p) => offset > atKill[p]! || offset === inputEnds[p]),
        SESSION_TIMEOUT_MS + 30_000,
      )
      const takeoverMs = Date.now() - killedAt
      const restarted = startInstance(env)
      const codes = await Promise.all([instances[0]!.exited, instances[2]!.exited, restarted.exited])
      expect(codes).toEqual([0, 0, 0])
      const survivors = [instances[0]!, instances[2]!].map(summaryOf)
      for (const summary of survivors) expect(summary.consumed).toBeGreaterThan(0)
      summaryOf(restarted)

      // The ledger, read back by kcat: every input id at least once, duplicates counted.
      const written = await readTopic(output)
      const counts = new Map<number, number>()
      for (const record of written) {
        const order = JSON.parse(record.value!) as { id: number; store: string; enrichedBy: string }
        expect(order.enrichedBy).toBe('etl-enrich')
        expect(record.key).toBe(order.store)
        counts.set(order.id, (counts.get(order.id) ?? 0) + 1)
      }
      const missing = Array.from({ length: ORDERS }, (_, id) => id).filter((id) => !counts.has(id))
      const duplicates = written.length - counts.size
      console.log(`etl-enrich: ${written.length} outputs for ${ORDERS} inputs, ${duplicates} duplicates after the SIGKILL, takeover within ${takeoverMs} ms`)
      expect(missing).toEqual([])
      expect((await committed(groupId, input)).reduce((a, b) => a + b, 0)).toBe(ORDERS)
    },
    300_000,
  )

  it('on SIGTERM commits what it delivered, leaves the group and exits 0 with its summary', async () => {
    await admin.connect()
    const input = uniqueTopic('etl-term')
    const output = uniqueTopic('etl-term-out')
    const groupId = uniqueTopic('etl-group')
    await createTopic(input, 4)
    await createTopic(output, 4)
    const transport = wireTransport({ brokers: brokers().split(',') })
    await lastValueFrom(range(0, 50_000).pipe(map((id) => ({ id, store: `s${id % 5}` })), serialize(input, json()), key((o) => o.store), partition(transport), batch(), toKafka(transport), toArray()))
    await transport.close()
    const instance = startInstance({ KAFKA_BROKERS: brokers(), INPUT_TOPIC: input, OUTPUT_TOPIC: output, GROUP_ID: groupId })
    await until('some output', async () => (await endOffsets(output)) > 5_000, 60_000)
    instance.child.kill('SIGTERM')
    expect(await instance.exited).toBe(0)
    const summary = summaryOf(instance)
    // Everything consumed was produced and committed before the exit, and the commits are the group's.
    expect(summary.produced).toBe(summary.consumed)
    expect(summary.committed).toBe(summary.consumed)
    expect((await committed(groupId, input)).reduce((a, b) => a + b, 0)).toBe(summary.consumed)
    const { groups } = await admin.describeGroups([groupId])
    expect(groups[0]?.members ?? []).toEqual([])
  })
})
