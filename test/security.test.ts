import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { firstValueFrom, from, toArray } from 'rxjs'
import kafkajs from 'kafkajs'
import { createTopicsAndWait } from '@topicflow/kafkajs'
import { batch, json, KafkaConnectionError, partition, serialize, toKafka } from '@topicflow/core'
import type { KafkaCluster } from '@topicflow/testkit'
import { makeTransport, startOwnCluster, TRANSPORT_NAMES, type TransportName } from './support.js'

// A broker of this file's own with a SASL_SSL listener: TLS (a CA made for it) and a SCRAM-SHA-512 user.
const USER = 'alice'
const PASSWORD = 'alice-s3cret-never-logged'
let cluster: KafkaCluster | undefined

beforeAll(async () => {
  cluster = await startOwnCluster({ brokers: 1, secure: { scramUsers: { [USER]: PASSWORD } } })
  const admin = new kafkajs.Kafka({ brokers: cluster.bootstrapServers.split(','), logLevel: kafkajs.logLevel.NOTHING }).admin()
  await admin.connect()
  await createTopicsAndWait(admin, { topics: [{ topic: 'secured', numPartitions: 2 }] })
  await admin.disconnect()
}, 240_000)
afterAll(async () => cluster?.stop())

const secureTransport = (password: string, transportName: TransportName) =>
  makeTransport(transportName, {
    brokers: cluster!.secure!.bootstrapServers.split(','),
    ssl: { ca: [cluster!.secure!.caPem] },
    sasl: { mechanism: 'scram-sha-512', username: USER, password },
    connectionTimeout: 3000,
  })

async function countTopic(): Promise<number> {
  const admin = new kafkajs.Kafka({ brokers: cluster!.bootstrapServers.split(','), logLevel: kafkajs.logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    return (await admin.fetchTopicOffsets('secured')).reduce((n, p) => n + Number(p.high), 0)
  } finally {
    await admin.disconnect()
  }
}

describe('TLS and SASL/SCRAM-SHA-512 (real broker)', () => {
  it.each(TRANSPORT_NAMES)('produces over SASL_SSL with the right credentials (%s transport)', async (transportName) => {
    const transport = secureTransport(PASSWORD, transportName)
    const reports = await firstValueFrom(
      from(Array.from({ length: 100 }, (_, i) => ({ i }))).pipe(serialize('secured', json()), partition(transport), batch(), toKafka(transport), toArray()),
    ).finally(() => transport.close())
    expect(reports.filter((r) => r.status === 'delivered')).toHaveLength(100)
    expect(await countTopic()).toBeGreaterThanOrEqual(100)
  })

  it.each(TRANSPORT_NAMES)('a wrong password fails fast with a non-retriable error that does not contain the password (%s transport)', async (transportName) => {
    const transport = secureTransport('wrong-password-also-secret', transportName)
    const started = Date.now()
    const error = await firstValueFrom(from([{ i: 1 }]).pipe(serialize('secured', json()), partition(transport), batch(), toKafka(transport), toArray()))
      .catch((e: unknown) => e)
      .finally(() => transport.close())
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(error).toBeInstanceOf(KafkaConnectionError)
    expect((error as KafkaConnectionError).retriable).toBe(false)
    expect((error as Error).message).toMatch(/Authentication failed/)
    const everything = `${(error as Error).message} ${(error as Error).stack} ${JSON.stringify(error)}`
    expect(everything).not.toContain('wrong-password-also-secret')
  })

  it('topicflow produce takes the Java security properties; a wrong password exits 1 without echoing it', async () => {
    const cli = fileURLToPath(new URL('../packages/cli/bin/topicflow.js', import.meta.url))
    const run = (password: string) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [
          cli,
          'produce',
          '--bootstrap-server', cluster!.secure!.bootstrapServers,
          '--topic', 'secured',
          '--producer-property', 'security.protocol=SASL_SSL',
          '--producer-property', 'sasl.mechanism=SCRAM-SHA-512',
          '--producer-property', `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${USER}" password="${password}";`,
          '--producer-property', `ssl.truststore.certificates=${cluster!.secure!.caPem}`,
          '--request-timeout-ms', '5000',
        ])
        let stderr = ''
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
        child.on('close', (code) => resolve({ code, stderr }))
        child.stdin.end('one\ntwo\nthree\n')
      })
    const ok = await run(PASSWORD)
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stderr).toContain('3 delivered')
    const bad = await run('not-her-password')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/Authentication failed/)
    expect(bad.stderr).not.toContain('not-her-password')
  })
})
