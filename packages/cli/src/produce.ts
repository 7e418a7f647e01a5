import type { Readable, Writable } from 'node:stream'
import { identity } from 'rxjs'
import {
  KafkaConnectionError,
  KafkaSink,
  ProducerClosedError,
  UnknownTopicError,
  batch,
  compress,
  drainOnSignal,
  exponential,
  fromAsyncIterable,
  isLegalTopicName,
  key,
  partition,
  retry,
  serialize,
  signalExitCode,
  toKafka,
  type Partitioner,
  type TopicflowError,
} from '@topicflow/core'
import { messageOf } from '@topicflow/core/internal'
import { wireTransport } from '@topicflow/wire'
import { helpText, keyValue, parseOptions, UsageError, type OptionSpec, type ParsedOptions } from './args.js'
import { LineParseError, lineReaderConfig, lineRecord, splitLines, type ConsoleLine, type LineReaderConfig } from './lineReader.js'
import { producerSettings, readPropertiesFile, type ProducerSettings } from './producerConfig.js'
import { inFlightLines, startStatusLine, writeSummary, type ProduceSummary } from './summary.js'

/** `topicflow produce`'s options: kafka-console-producer's names and defaults, then topicflow's own. */
export const PRODUCE_OPTIONS: readonly OptionSpec[] = [
  { name: 'bootstrap-server', kind: 'value', arg: 'HOST:PORT[,HOST:PORT]', required: true, description: 'the brokers to connect to' },
  { name: 'topic', kind: 'value', arg: 'TOPIC', required: true, description: 'the topic to produce to' },
  { name: 'property', kind: 'value', arg: 'KEY=VALUE', repeat: true, description: 'line reader property: parse.key, key.separator (tab), parse.headers, headers.delimiter (tab), headers.separator (,), headers.key.separator (:), null.marker, ignore.error' },
  { name: 'reader-config', kind: 'value', arg: 'FILE', description: 'line reader properties file; --property takes precedence' },
  { name: 'compression-codec', kind: 'optional', arg: 'none|gzip|snappy|lz4|zstd', default: 'none', whenBare: 'gzip', description: 'compression.type; gzip when given without a value' },
  { name: 'batch-size', kind: 'value', arg: 'BYTES', default: '16384', description: 'batch.size' },
  { name: 'max-partition-memory-bytes', kind: 'value', arg: 'BYTES', default: '16384', description: 'batch.size; takes precedence over --batch-size' },
  { name: 'timeout', kind: 'value', arg: 'MS', default: '1000', description: 'linger.ms' },
  { name: 'request-required-acks', kind: 'value', arg: '0|1|all|-1', default: '-1', description: 'acks' },
  { name: 'message-send-max-retries', kind: 'value', arg: 'N', default: '3', description: 'retries' },
  { name: 'retry-backoff-ms', kind: 'value', arg: 'MS', default: '100', description: 'retry.backoff.ms' },
  { name: 'request-timeout-ms', kind: 'value', arg: 'MS', default: '1500', description: 'request.timeout.ms; also the bound on reaching the brokers at start' },
  { name: 'max-memory-bytes', kind: 'value', arg: 'BYTES', default: '33554432', description: 'buffer.memory' },
  { name: 'max-block-ms', kind: 'value', arg: 'MS', default: '60000', description: 'max.block.ms: longest wait for the topic’s metadata' },
  { name: 'metadata-expiry-ms', kind: 'value', arg: 'MS', default: '300000', description: 'metadata.max.age.ms' },
  { name: 'socket-buffer-size', kind: 'value', arg: 'BYTES', default: '102400', ignored: true, description: 'send.buffer.bytes' },
  { name: 'sync', kind: 'flag', description: 'send each line and wait for its acknowledgement before reading the next' },
  { name: 'producer-property', kind: 'value', arg: 'KEY=VALUE', repeat: true, description: 'a Java producer config: acks, linger.ms, batch.size, compression.type, retries, retry.backoff.ms, delivery.timeout.ms, reconnect.backoff.ms, reconnect.backoff.max.ms, enable.idempotence, client.id, request.timeout.ms, buffer.memory, max.block.ms, max.request.size, security.protocol, ssl.*, sasl.*' },
  { name: 'producer.config', kind: 'value', arg: 'FILE', description: 'a Java producer properties file; --producer-property takes precedence' },
  { name: 'value-format', kind: 'value', arg: 'string|json', default: 'string', description: 'json: each value must parse as JSON (the error names the line)' },
  { name: 'key-field', kind: 'value', arg: 'FIELD', description: 'with --value-format json: the key is this field of the value' },
  { name: 'partition', kind: 'value', arg: 'N', description: 'send every record to this partition' },
  { name: 'on-error', kind: 'value', arg: 'fail|skip', default: 'fail', description: 'a line that cannot be parsed: stop with an error, or count it and go on' },
  { name: 'close-timeout-ms', kind: 'value', arg: 'MS', description: 'on SIGTERM or SIGINT: stop reading and wait this long for what was read to be acknowledged, then hand back the rest (counted in the summary); default delivery.timeout.ms, by which every record is settled, as Java’s close() waits for all' },
  { name: 'help', kind: 'flag', description: 'print this help' },
]

/** Where the command reads and writes: the process's own streams, or a test's. */
export interface ProduceIo {
  readonly stdin: Readable
  readonly stdout: Writable
  readonly stderr: Writable & { isTTY?: boolean }
}


// Java's console producer sets these from its options when given, or when the config files leave them out.
const OPTION_PROPERTIES: ReadonlyArray<readonly [option: string, property: string]> = [
  ['request-required-acks', 'acks'],
  ['timeout', 'linger.ms'],
  ['batch-size', 'batch.size'],
  ['max-partition-memory-bytes', 'batch.size'],
  ['message-send-max-retries', 'retries'],
  ['retry-backoff-ms', 'retry.backoff.ms'],
  ['request-timeout-ms', 'request.timeout.ms'],
  ['max-memory-bytes', 'buffer.memory'],
  ['max-block-ms', 'max.block.ms'],
  ['metadata-expiry-ms', 'metadata.max.age.ms'],
  ['compression-codec', 'compression.type'],
]

/** The Java producer properties of a command line: the file, then `--producer-property`, then the options. */
export function producerProperties(options: ParsedOptions): Map<string, string> {
  const properties = options.has('producer.config') ? readPropertiesFile(options.get('producer.config')!) : new Map<string, string>()
  for (const entry of options.all('producer-property')) {
    const [name, value] = keyValue('--producer-property', entry)
    properties.set(name, value)
  }
  const fromFiles = new Set(properties.keys())
  for (const [option, property] of OPTION_PROPERTIES) {
    // --max-partition-memory-bytes wins over --batch-size when both are given, as in Kafka's tool.
    if (option === 'batch-size' && options.has('max-partition-memory-bytes')) continue
    if (options.has(option) || !fromFiles.has(property)) properties.set(property, options.get(option)!)
  }
  return properties
}

/** The usage line and help of `topicflow produce`. */
export function produceHelp(): string {
  return helpText(
    'topicflow produce --bootstrap-server HOST:PORT --topic TOPIC [options] < lines',
    'Reads standard input, one record per line, until EOF; exits 0 once every record is acknowledged,\n1 if any failed (count and first error with its line number), 2 on a usage error. On SIGTERM or\nSIGINT it stops reading, delivers what it read (see --close-timeout-ms), prints the summary and exits\n128 + the signal number (143, 130); a second signal exits at once with the counts so far.',
    PRODUCE_OPTIONS,
  )
}

/**
 * Runs `topicflow produce` with `argv` (the words after `produce`): reads `io.stdin` line by line through
 * topicflow's operators into the topic. Resolves with the exit code; usage errors reject with `UsageError`.
 */
export async function produce(argv: readonly string[], io: ProduceIo): Promise<number> {
  const options = parseOptions(argv, PRODUCE_OPTIONS)
  if (options.has('help')) {
    io.stdout.write(produceHelp())
    return 0
  }
  const topic = options.get('topic')!
  if (!isLegalTopicName(topic)) throw new UsageError(`--topic ${JSON.stringify(topic)} is not a legal topic name ([a-zA-Z0-9._-], 1-249 characters)`)
  const brokers = options
    .get('bootstrap-server')!
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '')
  if (brokers.length === 0 || brokers.some((b) => !/^[^:\s]+:\d+$/.test(b))) throw new UsageError('--bootstrap-server takes HOST:PORT[,HOST:PORT]')
  const readerProperties = options.has('reader-config') ? readPropertiesFile(options.get('reader-config')!) : new Map<string, string>()
  for (const entry of options.all('property')) {
    const [name, value] = keyValue('--property', entry)
    readerProperties.set(name, value)
  }
  const reader = lineReaderConfig(readerProperties)
  const settings = producerSettings(producerProperties(options))
  for (const name of settings.unused) io.stderr.write(`topicflow produce: ignoring producer property ${name} (not used by topicflow)\n`)
  const valueFormat = options.get('value-format')
  if (valueFormat !== 'string' && valueFormat !== 'json') throw new UsageError(`--value-format must be string or json, got ${JSON.stringify(valueFormat)}`)
  const keyField = options.get('key-field')
  if (keyField !== undefined && valueFormat !== 'json') throw new UsageError('--key-field needs --value-format json')
  if (keyField !== undefined && reader.parseKey) throw new UsageError('--key-field and --property parse.key=true both set the key: choose one')
  const onError = options.get('on-error')
  if (onError !== 'fail' && onError !== 'skip') throw new UsageError(`--on-error must be fail or skip, got ${JSON.stringify(onError)}`)
  const fixedPartition = options.has('partition') ? options.integer('partition', 0) : undefined
  const closeTimeoutMs = options.has('close-timeout-ms') ? options.integer('close-timeout-ms', 0) : settings.deliveryTimeoutMs

  return run({ brokers, topic, reader, settings, valueFormat, keyField, onError, fixedPartition, closeTimeoutMs, sync: options.has('sync') }, io)
}

interface ProduceJob {
  readonly brokers: string[]
  readonly topic: string
  readonly reader: LineReaderConfig
  readonly settings: ProducerSettings
  readonly valueFormat: 'string' | 'json'
  readonly keyField: string | undefined
  readonly onError: 'fail' | 'skip'
  readonly fixedPartition: number | undefined
  readonly closeTimeoutMs: number
  readonly sync: boolean
}

async function run(job: ProduceJob, io: ProduceIo): Promise<number> {
  const { settings } = job
  const transport = wireTransport({
    brokers: job.brokers,
    ...settings.client,
    connectionTimeout: Math.min(settings.requestTimeoutMs, 10_000),
    requestTimeout: settings.requestTimeoutMs,
    maxRequestBytes: settings.maxRequestBytes,
  })
  const summary: ProduceSummary = { read: 0, delivered: 0, failed: 0, skipped: 0, handedBack: 0, firstError: undefined }
  const startedAt = Date.now()
  let signalled: NodeJS.Signals | undefined
  let stopSignals: (() => void) | undefined
  const fail = (message: string): void => {
    summary.failed++
    summary.firstError ??= message
  }
  try {
    // Reach the cluster first, bounded by the request timeout: an unreachable broker is reported at once,
    // not after max.block.ms. A topic that does not exist yet gets max.block.ms in partition() below.
    let partitionCount: number | undefined
    try {
      partitionCount = await transport.partitionCount(job.topic, { timeoutMs: settings.requestTimeoutMs })
    } catch (error) {
      if (!(error instanceof UnknownTopicError)) {
        const reason = error instanceof KafkaConnectionError ? error.message : `cannot reach Kafka at ${job.brokers.join(',')}: ${messageOf(error)}`
        io.stderr.write(`topicflow produce: ${reason}\n`)
        return 1
      }
    }
    if (job.fixedPartition !== undefined && partitionCount !== undefined && job.fixedPartition >= partitionCount) {
      io.stderr.write(`topicflow produce: --partition ${job.fixedPartition} does not exist: ${job.topic} has ${partitionCount} partitions\n`)
      return 1
    }

    const sink = new KafkaSink<ConsoleLine>(transport, {
      acks: settings.acks,
      idempotence: settings.idempotence,
      maxBufferedBytes: settings.bufferMemory,
      requestTimeoutMs: settings.requestTimeoutMs,
      maxBlockMs: settings.maxBlockMs,
      reconnectBackoffMs: settings.reconnectBackoffMs,
      reconnectBackoffMaxMs: settings.reconnectBackoffMaxMs,
      onError: 'report',
    })
    let acknowledged: (() => void) | undefined
    const input = { stream: io.stdin, stopped: false }
    const lines = readLines(input, job, summary, (message) => io.stderr.write(`topicflow produce: ${message}\n`), fail, () =>
      job.sync ? new Promise<void>((resolve) => (acknowledged = resolve)) : undefined,
    )
    const status = io.stderr.isTTY === true ? startStatusLine(io.stderr, summary, startedAt) : undefined
    // As Java's console producer's shutdown hook closes its producer: stop reading, deliver what was read,
    // print the summary. stdin is destroyed so that a read waiting on an idle pipe ends now.
    stopSignals = drainOnSignal(sink, {
      timeoutMs: job.closeTimeoutMs,
      exit: false,
      onSignal: (signal) => {
        signalled = signal
        input.stopped = true
        io.stdin.destroy()
      },
      onSecondSignal: () => {
        status?.stop()
        writeSummary(io.stderr, summary, startedAt, ' (interrupted by a second signal)')
      },
    })
    const fixed = job.fixedPartition
    const partitioner: Partitioner | undefined =
      fixed === undefined
        ? undefined
        : (_record, count) => {
            if (fixed >= count) throw new UnknownTopicError(`${job.topic} partition ${fixed} (the topic has ${count})`)
            return fixed
          }
    await new Promise<void>((resolve) => {
      fromAsyncIterable(lines, sink)
        .pipe(
          serialize(job.topic, (line: ConsoleLine) => line.value, { headers: (line) => line.headers }),
          // Without parse.key or --key-field every key is null, as serialize leaves it: no copy of each record for it.
          job.reader.parseKey || job.keyField !== undefined ? key((line: ConsoleLine) => line.key) : identity,
          partition(sink, { metadataMaxAgeMs: settings.metadataMaxAgeMs, ...(partitioner === undefined ? {} : { partitioner }) }),
          batch(job.sync ? { lingerMs: 0, maxRecords: 1 } : { lingerMs: settings.lingerMs, maxBytes: settings.batchBytes }),
          compress(settings.codec),
          retry({ attempts: settings.attempts, backoff: exponential(settings.retryBackoffMs, settings.retryBackoffMaxMs), deliveryTimeoutMs: settings.deliveryTimeoutMs }),
          toKafka(sink),
        )
        .subscribe({
          next(report) {
            if (report.status === 'delivered') summary.delivered++
            else if (report.error instanceof ProducerClosedError) summary.handedBack++
            else fail(`line ${report.source.lineNumber}: ${report.error.message}`)
            acknowledged?.()
          },
          error(error: TopicflowError) {
            // The stream stopped (metadata that never came, a broken source): every line it read and did
            // not settle failed with it.
            const unsettled = inFlightLines(summary)
            const lineNumbers = error.sources?.map((s) => (s as ConsoleLine).lineNumber).filter((n) => n !== undefined) ?? []
            summary.failed += unsettled
            summary.firstError ??= `${lineNumbers.length > 0 ? `line ${lineNumbers[0]}: ` : ''}${error.message}`
            resolve()
          },
          complete: resolve,
        })
    })
    status?.stop()
  } finally {
    stopSignals?.()
    await transport.close()
  }
  writeSummary(io.stderr, summary, startedAt, signalled === undefined ? '' : ` (stopped by ${signalled})`)
  if (signalled !== undefined) return signalExitCode(signalled)
  return summary.failed > 0 ? 1 : 0
}


/** The lines of `input` as parsed records; a line that cannot be parsed is skipped or ends the input. */
async function* readLines(
  input: { readonly stream: Readable; readonly stopped: boolean },
  job: ProduceJob,
  summary: ProduceSummary,
  warn: (message: string) => void,
  fail: (message: string) => void,
  afterEach: () => Promise<void> | undefined,
): AsyncGenerator<ConsoleLine> {
  const chunks = splitLines(input.stream)
  let lineNumber = 0
  try {
    for await (const lines of chunks) {
      for (const bytes of lines) {
        lineNumber++
        // Counted here, per line and with no operator of its own: the pull source emits every line it was
        // given (it stops only before asking for the next), so a line counted is a line in the pipeline.
        summary.read++
        let line: ConsoleLine
        try {
          line = lineRecord(bytes, lineNumber, job.reader)
          if (job.valueFormat === 'json') line = jsonLine(line, job.keyField)
        } catch (error) {
          if (!(error instanceof LineParseError)) throw error
          if (job.onError === 'fail') {
            fail(error.message)
            await chunks.return(undefined)
            return
          }
          summary.skipped++
          warn(`skipped ${error.message}`)
          continue
        }
        const settled = afterEach()
        yield line
        if (settled !== undefined) await settled
      }
    }
  } catch (error) {
    // A signal destroyed stdin to end a pending read: that is the end of the input, not a failure.
    if (!input.stopped) throw error
  }
}

/** Checks that the value is JSON and, with `keyField`, takes the key from it. */
function jsonLine(line: ConsoleLine, keyField: string | undefined): ConsoleLine {
  if (line.value === null) return line
  let parsed: unknown
  try {
    parsed = JSON.parse(line.value.toString('utf8'))
  } catch (error) {
    throw new LineParseError(line.lineNumber, `the value is not JSON (${messageOf(error)})`)
  }
  if (keyField === undefined) return line
  const field = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>)[keyField] : undefined
  if (field === undefined || field === null) return line.withKey(null)
  return line.withKey(Buffer.from(typeof field === 'string' ? field : JSON.stringify(field), 'utf8'))
}
