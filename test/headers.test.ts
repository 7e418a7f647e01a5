import { execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { firstValueFrom, from, toArray } from 'rxjs'
import { batch, key, partition, serialize, string, toKafka, type RecordHeaders } from '@topicflow/core'
import { runKafkaTool } from '@topicflow/testkit'
import { brokers, createTopic, makeTransport, TRANSPORT_NAMES, uniqueTopic } from './support.js'

// Kafka's headers are an ordered list in which a name may repeat. These tests check that topicflow lands
// them in the order given, integer-like names (which a JavaScript object would move first) and names
// repeated with others between (which an object would group) included, against what Kafka's own tools
// write and read.

const BIN = fileURLToPath(new URL('../packages/cli/bin/topicflow.js', import.meta.url))

/** Lines for kafka-console-producer with parse.headers and parse.key: headers, key and value, tab-separated. */
const LINES = [
  'seq:1,src:a,dup:x,42:y,mid:m,dup:z\tk1\tv1',
  'seq:2,7:q,dup:x,dup:y,zz:1,dup:w,3:r\tk2\tv2',
  '10:a,2:b,1:c,b:d,a:e\tk3\tünïcødé ✓',
  'only:one\tk4\tv4',
  'empty:,dup:1,empty:,dup:2\tk5\tv5',
]
const INPUT = `${LINES.join('\n')}\n`
const READER = ['--property', 'parse.headers=true', '--property', 'parse.key=true']

/** Runs the installed `topicflow` command with `input` on stdin. */
function topicflow(args: readonly string[], input: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stderr })
    })
    child.stdin.end(input)
  })
}

/**
 * Each record of a one-partition topic as kcat prints it: key and value with their lengths, and the
 * headers (`%h`: name=value pairs, in the order the record holds them).
 */
function kcat(topic: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'kcat',
      ['-b', brokers(), '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-X', 'check.crcs=true', '-f', '%K:%k|%S:%s|%h\\n'],
      { timeout: 60_000, encoding: 'buffer' },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`kcat failed: ${stderr.toString() || error.message}`))
        resolve(stdout.toString('utf8').split('\n').filter((line) => line !== ''))
      },
    )
  })
}

/** What kcat prints for the record of one of LINES. */
function kcatLine(line: string): string {
  const [headers, recordKey, value] = line.split('\t') as [string, string, string]
  const pairs = headers.split(',').map((pair) => pair.replace(':', '='))
  return `${Buffer.byteLength(recordKey)}:${recordKey}|${Buffer.byteLength(value)}:${value}|${pairs.join(',')}`
}

/** The topic read by Kafka's own console consumer, printing headers and keys as it reads them. */
async function consoleConsumer(topic: string, count: number): Promise<string[]> {
  const run = await runKafkaTool('org.apache.kafka.tools.consumer.ConsoleConsumer', [
    '--bootstrap-server',
    brokers(),
    '--topic',
    topic,
    '--from-beginning',
    '--max-messages',
    String(count),
    '--timeout-ms',
    '60000',
    '--property',
    'print.headers=true',
    '--property',
    'print.key=true',
  ])
  expect(run.code, run.stderr).toBe(0)
  return run.stdout.split('\n').filter((line) => line !== '')
}

describe('headers land in the order given, repeats included', () => {
  it('topicflow produce writes them as kafka-console-producer does; kcat and Kafka’s console consumer read them in order', async () => {
    const ours = uniqueTopic('headers-cli')
    const theirs = uniqueTopic('headers-java')
    await createTopic(ours, 1)
    await createTopic(theirs, 1)

    const run = await topicflow(['produce', '--bootstrap-server', brokers(), '--topic', ours, ...READER], INPUT)
    expect(run.stderr).toContain(`${LINES.length} delivered`)
    expect(run.code).toBe(0)
    const java = await runKafkaTool('org.apache.kafka.tools.ConsoleProducer', ['--bootstrap-server', brokers(), '--topic', theirs, ...READER], { input: INPUT })
    expect(java.code, java.stderr).toBe(0)

    // kcat (librdkafka): every record's key, value and headers, in the order of the lines.
    const [ourRecords, javaRecords] = await Promise.all([kcat(ours), kcat(theirs)])
    expect(ourRecords).toEqual(LINES.map(kcatLine))
    expect(ourRecords).toEqual(javaRecords)
    expect(ourRecords[0]).toBe('2:k1|2:v1|seq=1,src=a,dup=x,42=y,mid=m,dup=z')

    // Kafka's own consumer prints headers as the producer's reader takes them: the lines come back as given.
    expect(await consoleConsumer(ours, LINES.length)).toEqual(LINES)
    expect(await consoleConsumer(theirs, LINES.length)).toEqual(LINES)
  })
})

describe.each(TRANSPORT_NAMES)('serialize(…, { headers }) through a pipeline (%s transport)', (transportName) => {
  const transport = makeTransport(transportName, { brokers: brokers().split(',') })
  afterAll(() => transport.close())

  const headersOf = (event: string): RecordHeaders => [['seq', event], ['src', 'a'], ['dup', 'x'], ['42', 'y'], ['mid', Buffer.from('m')], ['dup', 'z']]

  it(transportName === 'wire' ? 'lands every header where it stands' : 'lands names in the order they first come; a repeated name’s values together at its first place (kafkajs takes one array per name)', async () => {
    const topic = uniqueTopic(`headers-${transportName}`)
    await createTopic(topic, 1)
    const events = ['1', '2', '3']
    const reports = await firstValueFrom(
      from(events).pipe(serialize(topic, string(), { headers: headersOf }), key((e) => e), partition(transport), batch({ lingerMs: 5 }), toKafka(transport), toArray()),
    )
    expect(reports.map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered'])
    const landed = await kcat(topic)
    const expected = (e: string): string =>
      transportName === 'wire' ? `1:${e}|1:${e}|seq=${e},src=a,dup=x,42=y,mid=m,dup=z` : `1:${e}|1:${e}|seq=${e},src=a,dup=x,dup=z,42=y,mid=m`
    expect(landed).toEqual(events.map(expected))
  })
})
