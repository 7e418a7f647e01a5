import { readFileSync } from 'node:fs'
import type { ConnectionOptions } from 'node:tls'
import type { SaslOptions, WireTransportOptions } from '@topicflow/wire'
import { CODECS, type Codec } from '@topicflow/core'
import { parseInteger, UsageError } from './args.js'

/** The producer settings topicflow applies, from the Java producer's config names. */
export interface ProducerSettings {
  readonly acks: 0 | 1 | 'all'
  /** `enable.idempotence` when it was set; otherwise the sink's default (on with acks=all, as Java's). */
  readonly idempotence: boolean | undefined
  readonly lingerMs: number
  readonly batchBytes: number
  readonly codec: Codec
  /** `retries` + 1. */
  readonly attempts: number
  readonly retryBackoffMs: number
  readonly retryBackoffMaxMs: number
  readonly deliveryTimeoutMs: number
  /** `reconnect.backoff.ms` and `reconnect.backoff.max.ms`: waits before trying an unreachable leader again. */
  readonly reconnectBackoffMs: number
  readonly reconnectBackoffMaxMs: number
  readonly requestTimeoutMs: number
  readonly bufferMemory: number
  readonly maxBlockMs: number
  readonly metadataMaxAgeMs: number
  readonly maxRequestBytes: number
  /** Transport options: clientId, ssl, sasl. */
  readonly client: Pick<WireTransportOptions, 'clientId' | 'ssl' | 'sasl'>
  /** Properties given that topicflow does not use; printed as warnings, as Java's producer logs them. */
  readonly unused: readonly string[]
}

/** The Java producer's defaults, for properties neither the file, `--producer-property` nor an option set. */
const JAVA_DEFAULTS: Readonly<Record<string, string>> = {
  acks: 'all',
  'linger.ms': '5',
  'batch.size': '16384',
  'compression.type': 'none',
  retries: '2147483647',
  'retry.backoff.ms': '100',
  'retry.backoff.max.ms': '1000',
  'delivery.timeout.ms': '120000',
  'reconnect.backoff.ms': '50',
  'reconnect.backoff.max.ms': '1000',
  'request.timeout.ms': '30000',
  'buffer.memory': '33554432',
  'max.block.ms': '60000',
  'metadata.max.age.ms': '300000',
  'max.request.size': '1048576',
  'client.id': 'topicflow-console-producer',
  'security.protocol': 'PLAINTEXT',
}

// Properties that make sense only for Java's client or its serializers; accepted without a warning.
const JAVA_ONLY = new Set(['bootstrap.servers', 'key.serializer', 'value.serializer', 'send.buffer.bytes', 'receive.buffer.bytes', 'max.in.flight.requests.per.connection', 'partitioner.class', 'partitioner.ignore.keys'])

const USED = new Set([...Object.keys(JAVA_DEFAULTS), 'enable.idempotence'])

/** Reads a Java `.properties` file: `key=value` or `key: value`, `#`/`!` comments, `\` line continuations. */
export function readPropertiesFile(path: string): Map<string, string> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new UsageError(`cannot read config file ${path}: ${(error as Error).message}`)
  }
  const properties = new Map<string, string>()
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trimStart()
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!.trimStart()
    const match = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line)
    if (match === null) properties.set(line.trim(), '')
    else properties.set(match[1]!, match[2]!.trimEnd())
  }
  return properties
}

/**
 * Resolves the producer's settings from Java config properties (the file, then `--producer-property`,
 * already merged by the caller, with the command's explicit options on top), filling Java's defaults.
 * Bad values are usage errors that name the property; secrets are never echoed.
 */
export function producerSettings(properties: ReadonlyMap<string, string>): ProducerSettings {
  const get = (name: string): string => properties.get(name) ?? JAVA_DEFAULTS[name] ?? ''
  const integer = (name: string, min: number, max = Number.MAX_SAFE_INTEGER): number => parseInteger(name, get(name), min, max)

  const acksText = get('acks').trim().toLowerCase()
  const acks = acksText === 'all' || acksText === '-1' ? 'all' : acksText === '1' ? 1 : acksText === '0' ? 0 : undefined
  if (acks === undefined) throw new UsageError(`acks must be 0, 1, all or -1, got ${JSON.stringify(acksText)}`)

  const idempotenceText = properties.get('enable.idempotence')?.trim().toLowerCase()
  if (idempotenceText !== undefined && idempotenceText !== 'true' && idempotenceText !== 'false') {
    throw new UsageError(`enable.idempotence must be true or false, got ${JSON.stringify(idempotenceText)}`)
  }
  const idempotence = idempotenceText === undefined ? undefined : idempotenceText === 'true'
  if (idempotence === true && acks !== 'all') throw new UsageError('enable.idempotence=true needs acks=all')

  const codec = get('compression.type').trim().toLowerCase() as Codec
  if (!CODECS.includes(codec)) throw new UsageError(`compression.type must be one of ${CODECS.join(', ')}, got ${JSON.stringify(codec)}`)

  const lingerMs = integer('linger.ms', 0)
  const requestTimeoutMs = integer('request.timeout.ms', 1)
  const deliveryTimeoutMs = integer('delivery.timeout.ms', 1)
  // Java's ConfigException: a record must be able to wait out its linger and one request.
  if (deliveryTimeoutMs < lingerMs + requestTimeoutMs) {
    throw new UsageError(`delivery.timeout.ms (${deliveryTimeoutMs}) must be at least linger.ms + request.timeout.ms (${lingerMs + requestTimeoutMs})`)
  }
  const retryBackoffMs = integer('retry.backoff.ms', 0)
  const reconnectBackoffMs = integer('reconnect.backoff.ms', 0)

  return {
    acks,
    idempotence,
    lingerMs,
    batchBytes: integer('batch.size', 1),
    codec,
    attempts: Math.min(integer('retries', 0, 2147483647) + 1, Number.MAX_SAFE_INTEGER),
    retryBackoffMs,
    retryBackoffMaxMs: Math.max(retryBackoffMs, integer('retry.backoff.max.ms', 0)),
    deliveryTimeoutMs,
    reconnectBackoffMs,
    reconnectBackoffMaxMs: Math.max(reconnectBackoffMs, integer('reconnect.backoff.max.ms', 0)),
    requestTimeoutMs,
    bufferMemory: integer('buffer.memory', 1024),
    maxBlockMs: integer('max.block.ms', 1),
    metadataMaxAgeMs: integer('metadata.max.age.ms', 0),
    maxRequestBytes: integer('max.request.size', 1024),
    client: { clientId: get('client.id'), ...security(properties) },
    unused: [...properties.keys()].filter((name) => !USED.has(name) && !JAVA_ONLY.has(name) && !name.startsWith('ssl.') && !name.startsWith('sasl.')),
  }
}

/** `security.protocol`, `ssl.*` (PEM stores) and `sasl.*` (PLAIN, SCRAM) as the transport's `ssl` and `sasl` options. */
function security(properties: ReadonlyMap<string, string>): Pick<WireTransportOptions, 'ssl' | 'sasl'> {
  const protocol = (properties.get('security.protocol') ?? 'PLAINTEXT').trim().toUpperCase()
  if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(protocol)) {
    throw new UsageError(`security.protocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, got ${JSON.stringify(protocol)}`)
  }
  const result: { ssl?: ConnectionOptions | boolean; sasl?: SaslOptions } = {}
  if (protocol === 'SSL' || protocol === 'SASL_SSL') result.ssl = tlsOptions(properties)
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') result.sasl = saslOptions(properties)
  return result
}

function tlsOptions(properties: ReadonlyMap<string, string>): ConnectionOptions {
  const tls: ConnectionOptions = {}
  const pemOnly = (store: string): void => {
    const type = (properties.get(`ssl.${store}.type`) ?? 'PEM').toUpperCase()
    if (type !== 'PEM' && (properties.has(`ssl.${store}.location`) || properties.has(`ssl.${store}.certificates`))) {
      throw new UsageError(`ssl.${store}.type ${type} is not supported: convert the store to PEM and set ssl.${store}.type=PEM`)
    }
  }
  pemOnly('truststore')
  pemOnly('keystore')
  const file = (name: string): string | undefined => {
    const path = properties.get(name)
    if (path === undefined) return undefined
    try {
      return readFileSync(path, 'utf8')
    } catch (error) {
      throw new UsageError(`cannot read ${name} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
    }
  }
  const ca = properties.get('ssl.truststore.certificates') ?? file('ssl.truststore.location')
  if (ca !== undefined) tls.ca = ca
  const keystore = file('ssl.keystore.location')
  const key = properties.get('ssl.keystore.key') ?? keystore
  const cert = properties.get('ssl.keystore.certificate.chain') ?? keystore
  if (key !== undefined) tls.key = key
  if (cert !== undefined) tls.cert = cert
  const passphrase = properties.get('ssl.key.password')
  if (passphrase !== undefined) tls.passphrase = passphrase
  if (properties.get('ssl.endpoint.identification.algorithm') === '') tls.checkServerIdentity = () => undefined
  return tls
}

function saslOptions(properties: ReadonlyMap<string, string>): SaslOptions {
  const mechanism = (properties.get('sasl.mechanism') ?? 'GSSAPI').trim().toUpperCase()
  const jaas = properties.get('sasl.jaas.config') ?? ''
  const field = (name: string): string => {
    const match = new RegExp(`${name}\\s*=\\s*"((?:[^"\\\\]|\\\\.)*)"`).exec(jaas)
    if (match === null) throw new UsageError(`sasl.jaas.config has no ${name}="…" (the value is not shown)`)
    return match[1]!.replace(/\\(.)/g, '$1')
  }
  if (mechanism === 'PLAIN') return { mechanism: 'plain', username: field('username'), password: field('password') }
  if (mechanism === 'SCRAM-SHA-256') return { mechanism: 'scram-sha-256', username: field('username'), password: field('password') }
  if (mechanism === 'SCRAM-SHA-512') return { mechanism: 'scram-sha-512', username: field('username'), password: field('password') }
  throw new UsageError(`sasl.mechanism ${mechanism} is not supported: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`)
}
