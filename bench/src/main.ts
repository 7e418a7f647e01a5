/**
 * `npm run bench`: topicflow side by side with the other ways to produce from Node, on the same broker in
 * the same run. Ratios are what to read: absolute figures depend on the machine, and on 2 cores the broker
 * competes with the client.
 *
 * 1. The comparison (issue 7): the same keyed records (values of `--sizes` bytes), acks=all, each of
 *    `--codecs`, into fresh 6-partition topics: topicflow; kafkajs with one `send` per record and with
 *    hand-batched `sendBatch`; @confluentinc/kafka-javascript and @platformatic/kafka when installed; and
 *    Kafka's own ProducerPerformance, the machine's ceiling. On the single broker, then on a 3-broker
 *    cluster (replication factor 3) with `--three-broker-codecs` and `--three-broker-count` records at
 *    100 B (three times as many by default: runs there spread more, and longer runs average it out). Then
 *    topicflow offered 10,000 records/s, for its ack latency when not saturated.
 * 2. The demo pipeline against hand-written kafkajs `sendBatch` and against itself traced by
 *    @topicflow/otel (no SDK; SDK with a batch span processor); then its peak RSS for a large pull source.
 * 3. `--console-lines` lines piped into `topicflow produce` and into Kafka's ConsoleProducer (0 skips it).
 * 4. The cost of Avro: `--avro-events` events through `@topicflow/avro` against avsc (0 skips it).
 * 5. Each implementation of a codec the runtime offers (zstd: the native package or node:zlib's), on
 *    `--codec-batches` batches of 64 KiB (0 skips it): what `@topicflow/codecs` chooses from.
 * 6. Consumption (`--consume-count`, 0 skips it): a topic of that many records of each of `--sizes` (6
 *    partitions, produced once by topicflow before the section, uncompressed), read from the beginning to
 *    the end, each reader in a child process of its own with a fresh group id: topicflow's `fromKafka`
 *    over the wire transport (no sink, counting records); kafkajs's consumer (`eachBatch`, autoCommit);
 *    @confluentinc/kafka-javascript's KafkaJS-compatible consumer and @platformatic/kafka's consumer
 *    stream when they run here; Kafka's own ConsumerPerformance, the machine's ceiling. Records/s from
 *    the first record to the last, CPU seconds per million (the whole process), peak RSS.
 * 7. ETL (`--etl-count`, 0 skips it): that many JSON orders (~200 B) in a 12-partition input, topic to
 *    topic at least once with the etl-enrich example's `enrich`: topicflow's `enrichPipeline` steps
 *    (fromKafka with the sink's backpressure → serializeFrom → partition → batch → toKafka →
 *    commitOffsets) against the same job hand-written with kafkajs (`eachBatch` + `sendBatch` +
 *    `resolveOffset` + `commitOffsetsIfNecessary`), each until the output holds them all.
 *
 *   npm run bench -- [--sizes 100,1024] [--codecs none,lz4,zstd] [--compare-count 1000000] [--three-broker-codecs none,lz4,zstd]
 *                    [--three-broker-count 1500000] [--contenders 'Java ProducerPerformance,kcat (librdkafka)']
 *                    [--count 200000] [--rounds 3] [--rss-count 1000000] [--rss-count-large 5000000] [--codec zstd]
 *                    [--console-lines 1000000] [--avro-events 200000] [--consume-count 1000000]
 *                    [--etl-count 1000000] [--node 26] [--json]
 *
 * The comparison's counts are a million records (1.5 million on three brokers) at 100 B, fewer for larger
 * values: a Node contender's start and JIT warm-up are a fixed cost, which at 300,000 records was a third
 * of topicflow's CPU per record (measured on Node 26: 2.9-3.3 CPU s per million at 300,000, 2.1-2.3 at a
 * million), while kcat's start is nothing. `--contenders` runs only the contenders it names besides
 * topicflow (the comparison's names).
 *
 * `--node` is the Node.js release line every Node process of the run is on (default: the newest LTS,
 * installed from the npm registry into the cache folder on first use); each contender's row names its
 * version and runtime.
 *
 * With `--json` the last stdout line is one JSON object whose `results` are the comparison's rows;
 * `consumption` and `etl` hold the reading sections' rows and ratios.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { CODECS, type Codec } from '@topicflow/core'
import { pizzaPayloadBytes } from '@topicflow/example-pizza-orders/pipeline'
import { envForNode, NEWEST_LTS_NODE, resolveNode, startKafka, startSchemaRegistry, type KafkaCluster } from '@topicflow/testkit'
import { jobToEnv, type BenchJob, type RunResult } from './job.js'
import { compareProducers, JAVA_CONTENDER, KCAT_CONTENDER, NODE_CONTENDERS, pacedLatency, runNode, warmUp, type ComparisonRow } from './compare/run.js'
import { consoleCommands, timeCommand, writeLines, type ConsoleResult } from './console.js'
import { measureAvroCost } from './avro.js'
import type { CodecImplementationResult } from './codecs.js'
import { connectBenchAdmin, inFreshTopic, PARTITIONS } from './topics.js'
import { compareConsumers, CONSUMER_PERFORMANCE, type ConsumptionRow } from './consume/run.js'
import { compareEtl, ETL_PARTITIONS, type EtlRow } from './etl/run.js'

const RUN_TIMEOUT_MS = 10 * 60_000

interface Contender {
  readonly name: string
  readonly script: string
  readonly env?: Record<string, string>
  /** Records of the orders' average JSON size instead of pizza orders (the comparison's contender). */
  readonly ordersSized?: boolean
}

/** The comparison's contender, raw records through the same operators: what the demo pipeline is held to (>= 0.8x). */
const RAW_CONTENDER = 'topicflow raw (comparison contender)'

const CONTENDERS: readonly Contender[] = [
  { name: 'topicflow', script: 'contenders/topicflow.js' },
  { name: RAW_CONTENDER, script: 'compare/topicflow.js', ordersSized: true },
  { name: 'kafkajs sendBatch', script: 'contenders/kafkajs-batch.js' },
  { name: 'topicflow traced, no SDK', script: 'contenders/topicflow-traced.js', env: { BENCH_OTEL: 'none' } },
  { name: 'topicflow traced, SDK', script: 'contenders/topicflow-traced.js', env: { BENCH_OTEL: 'sdk' } },
]

const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '3' },
    'rss-count': { type: 'string', default: '1000000' },
    'rss-count-large': { type: 'string', default: '5000000' },
    codec: { type: 'string', default: 'zstd' },
    'console-lines': { type: 'string', default: '1000000' },
    'avro-events': { type: 'string', default: '200000' },
    'codec-batches': { type: 'string', default: '800' },
    'consume-count': { type: 'string', default: '1000000' },
    'etl-count': { type: 'string', default: '1000000' },
    json: { type: 'boolean', default: false },
    sizes: { type: 'string', default: '100,1024' },
    codecs: { type: 'string', default: 'none,lz4,zstd' },
    'compare-count': { type: 'string', default: '1000000' },
    'compare-rounds': { type: 'string', default: '2' },
    'three-broker-codecs': { type: 'string', default: 'none,lz4,zstd' },
    'three-broker-count': { type: 'string', default: '1500000' },
    node: { type: 'string', default: String(NEWEST_LTS_NODE) },
    contenders: { type: 'string', default: '' },
  },
})

// Every Node process of the run (this one, each contender, the CLI) is on the runtime `--node` names: the
// bench starts itself again on it, installed from the npm registry into the cache folder on first use.
const nodeMajor = positiveInteger('--node', args.node)
if (Number(process.versions.node.split('.')[0]) !== nodeMajor) {
  const runtime = resolveNode(nodeMajor, (line) => console.error(line))
  console.error(`bench: on Node.js ${runtime.version} (--node ${nodeMajor})`)
  const again = spawnSync(runtime.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env: envForNode(runtime) })
  process.exit(again.status ?? 1)
}
const count = positiveInteger('--count', args.count)
const rounds = positiveInteger('--rounds', args.rounds)
const rssCount = positiveInteger('--rss-count', args['rss-count'])
const rssCountLarge = args['rss-count-large'] === '0' ? 0 : positiveInteger('--rss-count-large', args['rss-count-large'])
const consoleLines = args['console-lines'] === '0' ? 0 : positiveInteger('--console-lines', args['console-lines'])
const avroEvents = args['avro-events'] === '0' ? 0 : positiveInteger('--avro-events', args['avro-events'])
const codecBatches = args['codec-batches'] === '0' ? 0 : positiveInteger('--codec-batches', args['codec-batches'])
const consumeCount = args['consume-count'] === '0' ? 0 : positiveInteger('--consume-count', args['consume-count'])
const etlCount = args['etl-count'] === '0' ? 0 : positiveInteger('--etl-count', args['etl-count'])
const codec = args.codec as Codec
if (!CODECS.includes(codec)) usage(`--codec must be one of ${CODECS.join(', ')}, got ${args.codec}`)
const sizes = list(args.sizes).map((size) => positiveInteger('--sizes', size))
const compareCodecs = list(args.codecs).map((name) => codecOption('--codecs', name))
const threeBrokerCodecs = list(args['three-broker-codecs']).map((name) => codecOption('--three-broker-codecs', name))
const compareCount = args['compare-count'] === '0' ? 0 : positiveInteger('--compare-count', args['compare-count'])
const compareRounds = positiveInteger('--compare-rounds', args['compare-rounds'])
const threeBrokerCount = positiveInteger('--three-broker-count', args['three-broker-count'])
const knownContenders = [...NODE_CONTENDERS.map((c) => c.name), JAVA_CONTENDER, KCAT_CONTENDER]
const onlyContenders = list(args.contenders)
for (const name of onlyContenders) if (!knownContenders.includes(name)) usage(`--contenders takes names from ${knownContenders.join(', ')}, got ${name}`)

const log = (line: string): void => void console.error(line)
log(process.env.KAFKA_BROKERS === undefined ? 'starting a local Kafka (set KAFKA_BROKERS to use yours)…' : `using KAFKA_BROKERS=${process.env.KAFKA_BROKERS}`)
const [cluster, registry] = await Promise.all([startKafka({ brokers: 1, jvm: 'server' }), avroEvents > 0 ? startSchemaRegistry() : undefined])
const brokers = cluster.bootstrapServers.split(',')
const admin = await connectBenchAdmin(brokers)
try {
  const comparison: ComparisonRow[] = []
  let paced: (RunResult & { lingerMs: number }) | undefined
  if (compareCount > 0) {
    const common = { sizes, count: compareCount, rounds: compareRounds, only: onlyContenders.length === 0 ? undefined : new Set(onlyContenders), log }
    comparison.push(...(await compareProducers({ ...common, admin, brokers, cluster: '1 broker', replicationFactor: 1, codecs: compareCodecs })))
    paced = await pacedLatency({ ...common, admin, brokers, cluster: '1 broker', replicationFactor: 1, codecs: ['none'] }, 10_000, 5)
    if (threeBrokerCodecs.length > 0 && process.env.KAFKA_BROKERS === undefined) {
      log('starting a 3-broker cluster (replication factor 3, min.insync.replicas 2)…')
      const three: KafkaCluster = await startKafka({ brokers: 3, jvm: 'server' })
      try {
        const threeAdmin = await connectBenchAdmin(three.bootstrapServers.split(','))
        try {
          comparison.push(...(await compareProducers({ ...common, count: threeBrokerCount, admin: threeAdmin, brokers: three.bootstrapServers.split(','), cluster: '3 brokers', replicationFactor: 3, codecs: threeBrokerCodecs })))
        } finally {
          await threeAdmin.disconnect()
        }
      } finally {
        await three.stop()
      }
    }
    printComparison(comparison, paced)
  }

  // The comparison warmed the broker up; without it, the pipeline's first round would meet a cold one.
  if (compareCount === 0) await warmUp({ admin, brokers, cluster: '1 broker', replicationFactor: 1, sizes: [100], codecs: [codec], count, log })

  const payloadBytes = await pizzaPayloadBytes(count)
  log(`${count.toLocaleString('en')} pizza orders (${(payloadBytes / count).toFixed(0)} B each as JSON), ${codec}, acks=all, ${PARTITIONS} partitions, best of ${rounds} rounds`)

  const best = new Map<string, RunResult>()
  for (let round = 0; round < rounds; round++) {
    // Alternate the order, so that no contender always runs on a fresher (or warmer) broker.
    const order = round % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse()
    for (const contender of order) {
      const result = await runContender(contender, count, contender.ordersSized === true ? Math.round(payloadBytes / count) : undefined)
      log(`  round ${round + 1} ${contender.name}: ${Math.round(result.records / result.seconds).toLocaleString('en')} records/s`)
      const previous = best.get(contender.name)
      if (previous === undefined || result.seconds < previous.seconds) best.set(contender.name, result)
    }
  }

  log(`topicflow with a pull source of ${rssCount.toLocaleString('en')} orders, for peak RSS…`)
  const large = await runContender(CONTENDERS[0]!, rssCount)
  let larger: RunResult | undefined
  if (rssCountLarge > 0) {
    log(`…and of ${rssCountLarge.toLocaleString('en')} orders`)
    larger = await runContender(CONTENDERS[0]!, rssCountLarge)
  }

  const rows = CONTENDERS.map((contender) => {
    const result = best.get(contender.name)!
    return {
      name: contender.name,
      recordSize: Math.round(payloadBytes / count),
      codec,
      records: result.records,
      recordsPerSec: Math.round(result.records / result.seconds),
      mbPerSec: round2(payloadBytes / result.seconds / 1e6),
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      cpuSeconds: round2(result.cpuSeconds),
      peakRssMb: Math.round(result.peakRssMb),
    }
  })
  const ours = rows[0]!
  console.log('')
  console.log(table(rows.map((row) => ({ ...row, 'vs topicflow': `${round2(row.recordsPerSec / ours.recordsPerSec)}x` }))))
  const rowOf = (name: string) => rows.find((row) => row.name === name)!
  const rawRatio = round2(ours.recordsPerSec / rowOf(RAW_CONTENDER).recordsPerSec)
  const ratio = round2(ours.recordsPerSec / rowOf('kafkajs sendBatch').recordsPerSec)
  const tracedRatio = round2(rowOf('topicflow traced, no SDK').recordsPerSec / ours.recordsPerSec)
  const tracedSdkRatio = round2(rowOf('topicflow traced, SDK').recordsPerSec / ours.recordsPerSec)
  console.log(`\ndemo pipeline (json serializer, pizza orders) / the comparison's contender on values of the orders' size: ${rawRatio}x records/s (target >= 0.8)`)
  console.log(`topicflow / hand-batched kafkajs sendBatch: ${ratio}x records/s (target >= 1.0)`)
  console.log(`traced / untraced: ${tracedRatio}x with no SDK (target >= 0.95), ${tracedSdkRatio}x with the SDK and a batch span processor (target >= 0.8)`)
  console.log(`topicflow peak RSS for ${rssCount.toLocaleString('en')} records from a pull source: ${Math.round(large.peakRssMb)} MB (target < 300 MB), ${Math.round(large.records / large.seconds).toLocaleString('en')} records/s`)
  if (larger !== undefined) {
    console.log(`…for ${rssCountLarge.toLocaleString('en')} records: ${Math.round(larger.peakRssMb)} MB, ${round2(larger.peakRssMb / large.peakRssMb)}x the ${rssCount.toLocaleString('en')}-record peak (target <= 1.2x and < 250 MB)`)
  }
  const consoleResults = consoleLines > 0 ? await compareConsoleProducers(consoleLines) : []
  const consoleRatio = consoleResults.length === 2 ? round2(consoleResults[0]!.recordsPerSec / consoleResults[1]!.recordsPerSec) : undefined
  if (consoleResults.length > 0) {
    console.log('')
    console.log(table(consoleResults.map((r) => ({ ...r }))))
    console.log(`\ntopicflow produce / Java ConsoleProducer: ${consoleRatio}x records/s (target >= 1.0)`)
  }
  const avro = registry === undefined ? undefined : await measureAvroCost(registry.url, avroEvents)
  if (avro !== undefined) {
    console.log(`\nAvro, ${avro.events.toLocaleString('en')} events: avsc toBuffer ${avro.avscToBufferMs} ms, serialize + @topicflow/avro ${avro.topicflowSerializeMs} ms: ${avro.ratio}x (target <= 1.3)`)
  }
  const codecImplementations = codecBatches > 0 ? measureCodecImplementations(sizes, codecBatches) : undefined
  if (codecImplementations !== undefined) {
    console.log(`\nCompression on Node ${process.versions.node}, 64 KiB batches, 4 at a time on the thread pool (what @topicflow/codecs chooses from):`)
    console.log(table(codecImplementations.map((r) => ({ ...r }))))
  }
  const consumption = consumeCount > 0 ? await compareConsumers({ admin, brokers, sizes, count: consumeCount, log }) : undefined
  const consumptionTargets = consumption === undefined ? undefined : printConsumption(consumption)
  const etl = etlCount > 0 ? await compareEtl({ admin, brokers, count: etlCount, log }) : undefined
  const etlRatio = etl === undefined ? undefined : printEtl(etl.rows, etl.orderBytes)
  if (args.json) {
    console.log(
      JSON.stringify({
        results: comparison,
        pacedLatency: paced === undefined ? undefined : { offeredPerSec: 10_000, p50Ms: paced.p50Ms, p99Ms: paced.p99Ms, lingerMs: paced.lingerMs },
        pipeline: rows,
        ratioToKafkajsSendBatch: ratio,
        ratioToRawContender: rawRatio,
        tracedToUntraced: { noSdk: tracedRatio, sdk: tracedSdkRatio },
        pullSource: { records: large.records, peakRssMb: Math.round(large.peakRssMb), ...(larger === undefined ? {} : { largerRecords: larger.records, largerPeakRssMb: Math.round(larger.peakRssMb) }) },
        consoleProducers: consoleResults,
        ratioToJavaConsoleProducer: consoleRatio,
        avro,
        codecImplementations,
        consumption: consumption === undefined ? undefined : { records: consumeCount, partitions: PARTITIONS, compression: 'none', results: consumption, ratios: consumptionTargets },
        etl: etl === undefined ? undefined : { records: etlCount, partitions: ETL_PARTITIONS, orderBytes: etl.orderBytes, results: etl.rows, ratioToKafkajs: etlRatio },
      }),
    )
  }
} finally {
  await admin.disconnect()
  await Promise.all([cluster.stop(), registry?.stop()])
}

/** Pipes the same lines into each console producer, each into a fresh topic whose count is then checked. */
async function compareConsoleProducers(lines: number): Promise<ConsoleResult[]> {
  const input = await writeLines(lines)
  log(`console producers: ${lines.toLocaleString('en')} lines of ${(input.bytes / lines).toFixed(0)} B, acks=1, no compression`)
  try {
    const results: ConsoleResult[] = []
    for (const { name, command } of consoleCommands(brokers.join(','))) {
      const { result: seconds, landed, topic } = await inFreshTopic(admin, `console-${name}`, undefined, (topic) => {
        const [executable, commandArgs] = command(topic)
        return timeCommand(executable, commandArgs, input.file)
      })
      if (landed !== lines) throw new Error(`${name}: ${lines} lines in, ${landed} records in ${topic}`)
      log(`  ${name}: ${Math.round(lines / seconds).toLocaleString('en')} records/s`)
      results.push({ name, lines, seconds: round2(seconds), recordsPerSec: Math.round(lines / seconds), mbPerSec: round2(input.bytes / seconds / 1e6) })
    }
    return results
  } finally {
    input.cleanup()
  }
}

/** Each implementation of each codec this runtime offers, measured in a child process of its own (`codecs.ts`). */
function measureCodecImplementations(recordSizes: readonly number[], batches: number): CodecImplementationResult[] {
  log(`compression: each implementation on ${batches} batches of 64 KiB…`)
  const child = spawnSync(process.execPath, [fileURLToPath(new URL('codecs.js', import.meta.url))], {
    encoding: 'utf8',
    env: { ...process.env, BENCH_SIZES: recordSizes.join(','), BENCH_CODEC_BATCHES: String(batches) },
    maxBuffer: 1 << 24,
    timeout: RUN_TIMEOUT_MS,
  })
  const last = child.stdout?.trim().split('\n').pop() ?? ''
  if (child.status !== 0 || !last.startsWith('{')) throw new Error(`codecs.js ended with ${child.signal ?? `exit code ${child.status}`}: ${child.stderr}`)
  return (JSON.parse(last) as { results: CodecImplementationResult[] }).results
}

/** Runs one contender in a child process into a fresh topic; checks at the broker that all `records` landed. */
async function runContender(contender: Contender, records: number, recordSize = 100): Promise<RunResult> {
  const { result, landed, topic } = await inFreshTopic(admin, contender.name, undefined, (topic) => {
    const job: BenchJob = { brokers, topic, count: records, codec, recordSize }
    return runNode(fileURLToPath(new URL(contender.script, import.meta.url)), { ...jobToEnv(job), ...contender.env })
  })
  if (result.records !== records || landed !== records) {
    throw new Error(`${contender.name}: asked for ${records} records, ${result.records} acknowledged, ${landed} in ${topic}`)
  }
  return result
}

function table(rows: ReadonlyArray<Record<string, string | number>>): string {
  const columns = Object.keys(rows[0] ?? {})
  const cells = [columns, ...rows.map((row) => columns.map((c) => String(row[c])))]
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)))
  return cells.map((line) => line.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')).join('\n')
}

/** The comparison table, grouped by cluster, size and codec, each row's records/s as a ratio to topicflow's; then the targets. */
function printComparison(rows: readonly ComparisonRow[], paced: (RunResult & { lingerMs: number }) | undefined): void {
  const groups = new Map<string, ComparisonRow[]>()
  for (const row of rows) {
    const id = `${row.cluster}|${row.recordSize}|${row.codec}`
    groups.set(id, [...(groups.get(id) ?? []), row])
  }
  const printed: Array<Record<string, string | number>> = []
  const targets: string[] = []
  for (const group of groups.values()) {
    const ours = group.find((r) => r.name === 'topicflow')!
    for (const { error, p50Ms, p99Ms, ...row } of group) {
      printed.push({ ...row, p50Ms: p50Ms ?? '–', p99Ms: p99Ms ?? '–', 'vs topicflow': error === undefined ? `${round2(row.recordsPerSec / ours.recordsPerSec)}x` : `failed: ${error}` })
    }
    const nodeRows = group.filter((r) => r.name !== 'topicflow' && r.name !== JAVA_CONTENDER && r.name !== KCAT_CONTENDER && r.error === undefined)
    const fastest = nodeRows.reduce<ComparisonRow | undefined>((a, b) => (a === undefined || b.recordsPerSec > a.recordsPerSec ? b : a), undefined)
    const java = group.find((r) => r.name === JAVA_CONTENDER)
    const where = `${ours.cluster}, ${ours.recordSize} B, ${ours.codec}`
    if (fastest !== undefined) targets.push(`${where}: topicflow / fastest Node contender (${fastest.name} ${fastest.version}) ${round2(ours.recordsPerSec / fastest.recordsPerSec)}x (target >= 1.0)`)
    if (java !== undefined && java.error === undefined) {
      targets.push(`${where}: topicflow / Java ProducerPerformance ${round2(ours.recordsPerSec / java.recordsPerSec)}x (target >= 1.0)`)
      targets.push(`${where}: CPU seconds per million records, topicflow ${cpuPerMillion(ours)} / Java ${cpuPerMillion(java)} (target: topicflow's <= Java's)`)
    }
    const kcat = group.find((r) => r.name === KCAT_CONTENDER)
    if (kcat !== undefined && kcat.error === undefined) {
      targets.push(`${where}: topicflow / kcat (librdkafka ${kcat.version}) ${round2(ours.recordsPerSec / kcat.recordsPerSec)}x records/s (target >= 1.0); CPU seconds per million records ${cpuPerMillion(ours)} / ${cpuPerMillion(kcat)}: ${round2(cpuPerMillion(ours) / cpuPerMillion(kcat))}x kcat's (target <= 1.5x)`)
    }
  }
  console.log('')
  console.log(table(printed))
  console.log('')
  for (const line of targets) console.log(line)
  if (paced !== undefined) console.log(`topicflow offered 10,000 records/s: p50 ${paced.p50Ms} ms, p99 ${paced.p99Ms} ms (target p99 <= lingerMs + 10 = ${paced.lingerMs + 10} ms)`)
}

/** The consumption table, by value size, each row's records/s as a ratio to topicflow's; then the targets. Returns the ratios per size. */
function printConsumption(rows: readonly ConsumptionRow[]): Array<{ recordSize: number; toFastestNode: number | null; fastestNode: string | null; toConsumerPerformance: number | null }> {
  const ratios: Array<{ recordSize: number; toFastestNode: number | null; fastestNode: string | null; toConsumerPerformance: number | null }> = []
  const printed: Array<Record<string, string | number>> = []
  const targets: string[] = []
  for (const recordSize of [...new Set(rows.map((r) => r.recordSize))]) {
    const group = rows.filter((r) => r.recordSize === recordSize)
    const ours = group.find((r) => r.name === 'topicflow')!
    for (const { error, ...row } of group) {
      const vs = error !== undefined ? error : ours.error !== undefined ? '–' : `${round2(ours.recordsPerSec / row.recordsPerSec)}x`
      printed.push({ ...row, 'topicflow / this': vs })
    }
    const nodeRows = group.filter((r) => r.name !== 'topicflow' && r.name !== CONSUMER_PERFORMANCE && r.error === undefined)
    const fastest = nodeRows.reduce<ConsumptionRow | undefined>((a, b) => (a === undefined || b.recordsPerSec > a.recordsPerSec ? b : a), undefined)
    const java = group.find((r) => r.name === CONSUMER_PERFORMANCE && r.error === undefined)
    const ok = ours.error === undefined
    const toFastest = ok && fastest !== undefined ? round2(ours.recordsPerSec / fastest.recordsPerSec) : null
    const toJava = ok && java !== undefined ? round2(ours.recordsPerSec / java.recordsPerSec) : null
    if (toFastest !== null) targets.push(`consumption, ${recordSize} B: topicflow / fastest Node consumer (${fastest!.name} ${fastest!.version}) ${toFastest}x records/s (target >= 1.0)`)
    if (toJava !== null) targets.push(`consumption, ${recordSize} B: topicflow / Java ConsumerPerformance ${toJava}x records/s (target >= 0.5); CPU seconds per million ${ours.cpuPerMillion} / ${java!.cpuPerMillion}`)
    ratios.push({ recordSize, toFastestNode: toFastest, fastestNode: fastest?.name ?? null, toConsumerPerformance: toJava })
  }
  console.log(`\nConsumption: ${rows[0]?.records.toLocaleString('en') ?? 0} records per topic (${PARTITIONS} partitions, uncompressed, produced by topicflow), each read from the beginning in a fresh group:`)
  console.log(table(printed))
  console.log('')
  for (const line of targets) console.log(line)
  return ratios
}

/** The ETL table and its target; returns topicflow / kafkajs. */
function printEtl(rows: readonly EtlRow[], orderBytes: number): number | undefined {
  console.log(`\nETL, topic to topic at least once (${ETL_PARTITIONS} partitions in and out, JSON orders of ${orderBytes} B, enrich of examples/etl-enrich, acks=all, uncompressed):`)
  console.log(table(rows.map((row) => ({ ...row }))))
  const ours = rows.find((r) => r.name === 'topicflow')
  const kafkajsRow = rows.find((r) => r.name !== 'topicflow')
  if (ours === undefined || kafkajsRow === undefined) return undefined
  const ratio = round2(ours.recordsPerSec / kafkajsRow.recordsPerSec)
  console.log(`\nETL: topicflow / hand-written kafkajs: ${ratio}x records/s (target >= 1.5)`)
  return ratio
}

function cpuPerMillion(row: ComparisonRow): number {
  return round2((row.cpuSeconds / row.records) * 1e6)
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '')
}

function codecOption(option: string, name: string): Codec {
  if (!CODECS.includes(name as Codec)) usage(`${option} takes codecs from ${CODECS.join(', ')}, got ${name}`)
  return name as Codec
}

function round2(n: number): number {
  return Math.round(n * 100) / 100
}

function positiveInteger(option: string, value: string | undefined): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) usage(`${option} must be a positive integer, got ${value}`)
  return n
}

function usage(message: string): never {
  console.error(`bench: ${message}`)
  process.exit(2)
}
