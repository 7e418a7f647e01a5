import { spawn } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { partitionForKey } from '@topicflow/core'
import { cacheDir, DEFAULT_KAFKA_VERSION, DEFAULT_REGISTRY_VERSION, runKafkaTool } from '@topicflow/testkit'
import { brokers, createTopic, dumpLogSegments, readTopic, TOPICFLOW_BIN, topicflow, uniqueTopic, type ReadRecord } from './support.js'

const produceArgs = (topic: string, ...more: string[]): string[] => ['produce', '--bootstrap-server', brokers(), '--topic', topic, ...more]

/** What a consumer sees of a record, without offsets and times. */
const content = (r: ReadRecord): string => JSON.stringify([r.key, r.value, r.headers])

describe('topicflow produce (real broker)', () => {
  it('writes keys, values, headers and null markers exactly as Kafka’s own console producer does', async () => {
    const reader = ['--property', 'parse.key=true', '--property', 'parse.headers=true', '--property', 'null.marker=<null>', '--property', 'key.separator=|']
    const lines: string[] = []
    for (let i = 0; i < 300; i++) {
      const headers = i % 7 === 0 ? '<null>' : `source:test,seq:${i}${i % 5 === 0 ? ',empty:' : ''}`
      const key = i % 11 === 0 ? '<null>' : `customer-${i % 23}`
      const value = i % 13 === 0 ? '<null>' : i % 17 === 0 ? '' : `order ${i} — ünïcødé ✓ with|pipes|inside`
      lines.push(`${headers}\t${key}|${value}`)
    }
    const input = `${lines.join('\n')}\n`
    const ours = uniqueTopic('cli-ours')
    const theirs = uniqueTopic('cli-java')
    await createTopic(ours, 3)
    await createTopic(theirs, 3)

    const run = await topicflow(produceArgs(ours, ...reader), input)
    expect(run.stderr).toContain('300 delivered')
    expect(run.code).toBe(0)
    const java = await runKafkaTool('org.apache.kafka.tools.ConsoleProducer', ['--bootstrap-server', brokers(), '--topic', theirs, ...reader], { input })
    expect(java.code, java.stderr).toBe(0)

    const [ourRecords, javaRecords] = await Promise.all([readTopic(ours), readTopic(theirs)])
    expect(ourRecords).toHaveLength(300)
    expect(javaRecords).toHaveLength(300)
    // The same records, each once; keyed ones on the same partition (murmur2), in the same order there.
    expect(ourRecords.map(content).sort()).toEqual(javaRecords.map(content).sort())
    const keyedByPartition = (records: ReadRecord[]): string[][] =>
      [0, 1, 2].map((p) => records.filter((r) => r.partition === p && r.key !== null).map(content))
    expect(keyedByPartition(ourRecords)).toEqual(keyedByPartition(javaRecords))
    for (const record of ourRecords.filter((r) => r.key !== null)) expect(record.partition).toBe(partitionForKey(Buffer.from(record.key!), 3))
    expect(ourRecords.filter((r) => r.key === null)).toHaveLength(28)
    expect(ourRecords.filter((r) => r.value === null)).toHaveLength(24)
  })

  it('applies the codec and batching at the broker (DumpLogSegments)', async () => {
    const topic = uniqueTopic('cli-lz4')
    await createTopic(topic, 1)
    const input = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(80)}`).join('\n')
    const run = await topicflow(produceArgs(topic, '--compression-codec', 'lz4', '--batch-size', '16384', '--timeout', '20'), input)
    expect(run.code, run.stderr).toBe(0)
    const batches = await dumpLogSegments(topic, 0)
    expect(batches.every((b) => b.codec === 'lz4')).toBe(true)
    expect(batches.reduce((n, b) => n + b.count, 0)).toBe(2000)
    // Batched, not one record per batch. (Batches that wait behind an in-flight request to the same
    // partition go out merged, up to max.request.size, so the broker may see batches over batch.size.)
    expect(batches.length).toBeLessThan(100)
    expect(Math.max(...batches.map((b) => b.count))).toBeGreaterThan(100)

    const gzipTopic = uniqueTopic('cli-gzip')
    await createTopic(gzipTopic, 1)
    // Given without a value, --compression-codec means gzip, as in Kafka's tool.
    expect((await topicflow(produceArgs(gzipTopic, '--compression-codec'), 'a\nb\n')).code).toBe(0)
    expect((await dumpLogSegments(gzipTopic, 0)).map((b) => b.codec)).toEqual(['gzip'])
  })

  it('delivers with acks 0, 1 and all; with all, idempotently (the batch carries a producer id)', async () => {
    for (const acks of ['0', '1', 'all']) {
      const topic = uniqueTopic(`cli-acks-${acks}`)
      await createTopic(topic, 2)
      const input = Array.from({ length: 500 }, (_, i) => `${acks}-${i}`).join('\n')
      const run = await topicflow(produceArgs(topic, '--request-required-acks', acks), input)
      expect(run.code, run.stderr).toBe(0)
      const records = await readTopic(topic)
      expect(new Set(records.map((r) => r.value)).size).toBe(500)
      const producerIds = [...(await dumpLogSegments(topic, 0)), ...(await dumpLogSegments(topic, 1))].map((b) => b.producerId)
      if (acks === 'all') expect(producerIds.every((id) => id >= 0)).toBe(true)
      else expect(producerIds.every((id) => id === -1)).toBe(true)
    }
  })

  it('--sync sends one line at a time, each acknowledged before the next', async () => {
    const topic = uniqueTopic('cli-sync')
    await createTopic(topic, 1)
    const run = await topicflow(produceArgs(topic, '--sync'), 'a\nb\nc\n')
    expect(run.code, run.stderr).toBe(0)
    const batches = await dumpLogSegments(topic, 0)
    expect(batches.map((b) => b.count)).toEqual([1, 1, 1])
  })

  it('exits 2 on a usage error that names the option', async () => {
    const unknown = await topicflow(produceArgs('t', '--no-such-option', 'x'))
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('unknown option --no-such-option')
    const missing = await topicflow(['produce', '--topic', 't'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('--bootstrap-server')
    const badAcks = await topicflow(produceArgs('t', '--request-required-acks', '2'))
    expect(badAcks.code).toBe(2)
    expect(badAcks.stderr).toContain('acks')
    const help = await topicflow(['produce', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('--request-timeout-ms MS')
    expect(help.stdout).toContain('default: 1500')
  })

  it('draws a live status line on stderr when stderr is a terminal (util-linux script gives it a pty)', async () => {
    const topic = uniqueTopic('cli-tty')
    await createTopic(topic, 1)
    const dir = mkdtempSync(join(tmpdir(), 'topicflow-tty-'))
    try {
      writeFileSync(join(dir, 'lines.txt'), Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n'))
      const command = `${process.execPath} ${TOPICFLOW_BIN} produce --bootstrap-server ${brokers()} --topic ${topic} < ${join(dir, 'lines.txt')}`
      const tty = await new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] })
        let output = ''
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
        child.on('close', (code) => resolve({ code, output }))
      })
      expect(tty.code, tty.output).toBe(0)
      expect(tty.output).toMatch(/\r\x1b\[K\d+ records\/s, \d+ in flight, 2000 delivered, 0 failed/)
      // Not a terminal: no status line, only the summary.
      const piped = await topicflow(produceArgs(topic), 'a\n')
      expect(piped.stderr).not.toContain('in flight')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a line without the key separator: an error naming the line (fail), or counted and skipped (--on-error skip)', async () => {
    const input = 'k1\tv1\nk2\tv2\nno separator here\nk4\tv4\n'
    const failTopic = uniqueTopic('cli-parse-fail')
    await createTopic(failTopic, 1)
    const failed = await topicflow(produceArgs(failTopic, '--property', 'parse.key=true'), input)
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain('line 3: no key separator')
    // What was read before the bad line is delivered, not dropped.
    expect((await readTopic(failTopic)).map((r) => r.value)).toEqual(['v1', 'v2'])

    const skipTopic = uniqueTopic('cli-parse-skip')
    await createTopic(skipTopic, 1)
    const skipped = await topicflow(produceArgs(skipTopic, '--property', 'parse.key=true', '--on-error', 'skip'), input)
    expect(skipped.code).toBe(0)
    expect(skipped.stderr).toContain('skipped line 3')
    expect(skipped.stderr).toContain('3 delivered, 0 failed, 1 skipped')
    expect((await readTopic(skipTopic)).map((r) => r.value)).toEqual(['v1', 'v2', 'v4'])
  })

  it('a line over the topic’s max message size fails with its line number; the other lines land', async () => {
    const topic = uniqueTopic('cli-too-large')
    await createTopic(topic, 1, { 'max.message.bytes': '10000' })
    const input = ['small 1', 'small 2', 'x'.repeat(20_000), 'small 4'].join('\n')
    const run = await topicflow(produceArgs(topic), input)
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('1 failed; first error: line 3:')
    expect(run.stderr).toMatch(/RecordTooLarge|exceeds/i)
    expect((await readTopic(topic)).map((r) => r.value)).toEqual(['small 1', 'small 2', 'small 4'])
  })

  it('--value-format json: a line that is not JSON is named; --key-field takes the key from the value', async () => {
    const topic = uniqueTopic('cli-json')
    await createTopic(topic, 4)
    const run = await topicflow(produceArgs(topic, '--value-format', 'json', '--key-field', 'store', '--on-error', 'skip'), '{"store":"s1","n":1}\n{not json}\n{"store":7,"n":3}\n')
    expect(run.code).toBe(0)
    expect(run.stderr).toContain('skipped line 2: the value is not JSON')
    const records = await readTopic(topic)
    expect(records.map((r) => [r.key, r.value]).sort()).toEqual([
      ['7', '{"store":7,"n":3}'],
      ['s1', '{"store":"s1","n":1}'],
    ])
    for (const r of records) expect(r.partition).toBe(partitionForKey(Buffer.from(r.key!), 4))
  })

  it('an unreachable broker: exit 1 within the request timeout, naming the address', async () => {
    const run = await topicflow(['produce', '--bootstrap-server', '127.0.0.1:1', '--topic', 'nowhere', '--request-timeout-ms', '1500'], 'a\n')
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('127.0.0.1:1')
    // 1.5 s of request timeout, plus Node's start and exit.
    expect(run.ms).toBeLessThan(1500 + 3000)
  })

  it('reads producer properties from --producer.config and --producer-property (the property wins)', async () => {
    const topic = uniqueTopic('cli-config')
    await createTopic(topic, 1)
    const dir = mkdtempSync(join(tmpdir(), 'topicflow-cli-'))
    const file = join(dir, 'producer.properties')
    writeFileSync(file, 'compression.type=snappy\nlinger.ms=5\nacks=1\n')
    try {
      const run = await topicflow(produceArgs(topic, '--producer.config', file, '--producer-property', 'compression.type=zstd'), 'a\nb\n')
      expect(run.code, run.stderr).toBe(0)
      const batches = await dumpLogSegments(topic, 0)
      expect(batches.every((b) => b.codec === 'zstd' && b.producerId === -1)).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('topicflow kafka up / status / down', () => {
  it('starts a local cluster and registry in the background, which auto-creates topics, and stops them', async () => {
    // A cache folder of its own (sharing the resolved jars), so a cluster the user runs is left alone.
    const home = mkdtempSync(join(tmpdir(), 'topicflow-cli-cache-'))
    mkdirSync(join(home, 'topicflow'))
    for (const fetched of [`kafka-${DEFAULT_KAFKA_VERSION}`, `apicurio-registry-${DEFAULT_REGISTRY_VERSION}`]) {
      symlinkSync(join(cacheDir(), fetched), join(home, 'topicflow', fetched))
    }
    const env = { ...process.env, XDG_CACHE_HOME: home }
    try {
      const up = await topicflow(['kafka', 'up', '--registry'], '', env)
      expect(up.code, up.stderr).toBe(0)
      const bootstrap = /^KAFKA_BROKERS=(\S+)$/m.exec(up.stdout)?.[1]
      expect(bootstrap).toMatch(/^127\.0\.0\.1:\d+$/)
      const registry = /^SCHEMA_REGISTRY_URL=(\S+)$/m.exec(up.stdout)?.[1]
      expect((await fetch(`${registry}/subjects`)).ok).toBe(true)
      const status = await topicflow(['kafka', 'status'], '', env)
      expect(status.code).toBe(0)
      expect(status.stdout).toContain('1 of 1 broker answering')
      const produced = await topicflow(['produce', '--bootstrap-server', bootstrap!, '--topic', 'auto-created'], 'one\ntwo\n', env)
      expect(produced.code, produced.stderr).toBe(0)
      expect(produced.stderr).toContain('2 delivered')
      const down = await topicflow(['kafka', 'down'], '', env)
      expect(down.code).toBe(0)
      expect((await topicflow(['kafka', 'status'], '', env)).code).toBe(1)
    } finally {
      await topicflow(['kafka', 'down'], '', env)
      rmSync(home, { recursive: true, force: true })
    }
  })
})
