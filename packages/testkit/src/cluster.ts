import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TestkitError } from './errors.js'
import { probeBrokers } from './probe.js'
import { resolveKafka } from './resolve.js'
import { runJava } from './tools.js'
import { freePorts, killGroup } from './processes.js'
import { makeTestTls, type TestTls } from './security.js'

/** Options of `startKafka`. */
export interface StartKafkaOptions {
  /** Brokers in the cluster, each also a KRaft controller. Default 1. */
  readonly brokers?: 1 | 3
  /** Apache Kafka version from Maven Central. Default `DEFAULT_KAFKA_VERSION`. */
  readonly version?: string
  /** The broker's `num.partitions` for auto-created topics. Default 1. */
  readonly numPartitions?: number
  /** Extra `server.properties` entries, for every broker. */
  readonly brokerConfig?: Readonly<Record<string, string>>
  /** How long to wait for every broker to answer metadata. Default 90000. */
  readonly startTimeoutMs?: number
  /** Keep the data folder after `stop()` (for looking at logs). Default false. */
  readonly keepData?: boolean
  /**
   * A second listener, SASL_SSL on 127.0.0.1 (`secureBootstrapServers`): TLS with a CA made for this
   * cluster, and SCRAM-SHA-512 users name → password. The PLAINTEXT listener stays for the brokers and
   * for admin in tests.
   */
  readonly secure?: { readonly scramUsers: Readonly<Record<string, string>> }
  /**
   * The brokers' JVM: `'test'` starts fast (C1 compiler only, 768 MiB heap), for test suites; `'server'`
   * runs as Kafka's own `kafka-server-start.sh` does (full JIT, 1 GiB heap, G1 aiming at 20 ms pauses),
   * for measurements. Default `'test'`.
   */
  readonly jvm?: 'test' | 'server'
}

/** JVM options per `StartKafkaOptions.jvm`; `'server'` are those of Kafka's `kafka-run-class.sh` for the broker. */
const JVM_OPTIONS = {
  test: ['-Xms256m', '-Xmx768m', '-XX:+UseG1GC', '-XX:TieredStopAtLevel=1'],
  server: ['-Xms1g', '-Xmx1g', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:InitiatingHeapOccupancyPercent=35', '-XX:+ExplicitGCInvokesConcurrent', '-XX:MaxInlineLevel=15'],
} as const

/** The secure listener of a cluster started with `secure`. */
export interface SecureListener {
  /** `host:port[,…]` of the SASL_SSL listener. */
  readonly bootstrapServers: string
  /** The CA certificate (PEM) to trust. */
  readonly caPem: string
}

/** One broker of the cluster. */
export interface BrokerInfo {
  readonly id: number
  readonly host: string
  readonly port: number
  /** Whether its JVM is running. */
  readonly running: boolean
}

/** A running cluster (or, with `KAFKA_BROKERS`, an external one). */
export interface KafkaCluster {
  /** `host:port[,host:port…]` to give clients. */
  readonly bootstrapServers: string
  readonly brokers: readonly BrokerInfo[]
  /** True when `KAFKA_BROKERS` named the cluster and nothing was started. */
  readonly external: boolean
  /** The SASL_SSL listener, when started with `secure`. */
  readonly secure: SecureListener | undefined
  /** Broker `i`'s `log.dirs` (where `<topic>-<partition>` folders live). */
  logDir(i: number): string
  /** Broker `i`'s log file. */
  serverLog(i: number): string
  /** Kills broker `i` with SIGKILL (a crash). */
  killBroker(i: number): Promise<void>
  /** Stops broker `i` with SIGTERM (a controlled shutdown) and waits for it to exit. */
  stopBroker(i: number): Promise<void>
  /** Starts broker `i` again with the same configuration and data, and waits until it answers. */
  startBroker(i: number): Promise<void>
  /** Stops every broker and removes the data (unless `keepData`). */
  stop(): Promise<void>
}

interface Node {
  readonly id: number
  readonly port: number
  readonly controllerPort: number
  readonly securePort: number
  readonly dir: string
  process: ChildProcess | undefined
}

const here = dirname(fileURLToPath(import.meta.url))

/**
 * Starts a real Apache Kafka on 127.0.0.1: Kafka's own jars from Maven Central (cached), KRaft storage
 * formatted with Kafka's StorageTool, `kafka.Kafka` on free ports, and waits until every broker answers
 * metadata. A detached reaper kills the JVMs and removes the data if this process dies, however it dies.
 * With `KAFKA_BROKERS` set it starts nothing and returns that cluster.
 *
 * @example
 * import { startKafka } from '@topicflow/testkit'
 * const kafka = await startKafka({ brokers: 1 })
 * console.log(kafka.bootstrapServers) // 127.0.0.1:40123
 * await kafka.stop()
 */
export async function startKafka(options: StartKafkaOptions = {}): Promise<KafkaCluster> {
  const external = process.env.KAFKA_BROKERS
  if (external !== undefined && external.trim() !== '') return externalCluster(external.trim())

  const count = options.brokers ?? 1
  if (count !== 1 && count !== 3) throw new TestkitError(`brokers must be 1 or 3, got ${String(count)}`)
  const runtime = resolveKafka({ version: options.version })
  const dataDir = mkdtempSync(join(tmpdir(), 'topicflow-kafka-'))
  const ports = await freePorts(count * 3)
  const nodes: Node[] = Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    port: ports[i * 3]!,
    controllerPort: ports[i * 3 + 1]!,
    securePort: ports[i * 3 + 2]!,
    dir: join(dataDir, `broker-${i + 1}`),
    process: undefined,
  }))
  const voters = nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',')
  const replication = String(count)
  const minIsr = count === 3 ? '2' : '1'
  // A base64url id can start with '-', which Kafka's tools read as an option (Kafka's own Uuid skips those).
  let clusterId = randomBytes(16).toString('base64url')
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url')

  const cleanupOnExit = (): void => {
    for (const node of nodes) killGroup(node.process, 'SIGKILL')
    if (options.keepData !== true) rmSync(dataDir, { recursive: true, force: true })
  }
  process.once('exit', cleanupOnExit)
  const reaper = spawn(process.execPath, [join(here, 'reaper.js'), String(process.pid), dataDir], { detached: true, stdio: 'ignore' })
  reaper.unref()

  const writePids = (): void => {
    writeFileSync(join(dataDir, 'pids'), nodes.map((n) => n.process?.pid ?? '').join('\n'))
  }

  const startNode = async (node: Node): Promise<void> => {
    node.process = spawn(
      runtime.javaBin,
      [
        ...JVM_OPTIONS[options.jvm ?? 'test'],
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${join(node.dir, 'log4j2.properties')}`,
        '-cp',
        runtime.classpath,
        'kafka.Kafka',
        join(node.dir, 'server.properties'),
      ],
      { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
    )
    const exited = node.process
    let stderr = ''
    exited.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
    exited.once('exit', () => {
      if (node.process === exited) node.process = undefined
    })
    writePids()
    await waitForMetadata(node, count, options.startTimeoutMs ?? 90_000, () => (node.process === undefined ? `the JVM exited: ${stderr}` : undefined))
  }

  let tls: TestTls | undefined
  try {
    tls = options.secure === undefined ? undefined : makeTestTls(dataDir, keytoolBeside(runtime.javaBin))
    const scram = Object.entries(options.secure?.scramUsers ?? {}).flatMap(([name, password]) => ['--add-scram', `SCRAM-SHA-512=[name=${name},password=${password}]`])
    await Promise.all(
      nodes.map(async (node) => {
        writeNodeConfig(node, voters, replication, minIsr, options, tls)
        const format = await runJava(runtime, 'kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', join(node.dir, 'server.properties'), ...scram], {
          timeoutMs: 120_000,
        })
        if (format.code !== 0) throw new TestkitError(`Kafka's StorageTool could not format ${node.dir}: ${format.stderr || format.stdout}`)
      }),
    )
    await Promise.all(nodes.map(startNode))
  } catch (error) {
    const logs = nodes.map((n) => `--- broker ${n.id} (${join(n.dir, 'server.log')}):\n${tail(join(n.dir, 'server.log'), 30)}`).join('\n')
    cleanupOnExit()
    process.removeListener('exit', cleanupOnExit)
    throw new TestkitError(`Kafka did not start: ${(error as Error).message}\n${logs}`, { cause: error })
  }

  const nodeAt = (i: number): Node => {
    const node = nodes[i]
    if (node === undefined) throw new TestkitError(`no broker ${i}: the cluster has brokers 0 to ${nodes.length - 1}`)
    return node
  }
  const stopNode = async (node: Node, signal: NodeJS.Signals): Promise<void> => {
    const running = node.process
    if (running === undefined) return
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()))
    killGroup(running, signal)
    const timer = setTimeout(() => killGroup(running, 'SIGKILL'), 30_000)
    await exited
    clearTimeout(timer)
  }

  return {
    bootstrapServers: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    get brokers() {
      return nodes.map((n) => ({ id: n.id, host: '127.0.0.1', port: n.port, running: n.process !== undefined }))
    },
    external: false,
    secure: tls === undefined ? undefined : { bootstrapServers: nodes.map((n) => `127.0.0.1:${n.securePort}`).join(','), caPem: tls.caPem },
    logDir: (i) => join(nodeAt(i).dir, 'data'),
    serverLog: (i) => join(nodeAt(i).dir, 'server.log'),
    killBroker: (i) => stopNode(nodeAt(i), 'SIGKILL'),
    stopBroker: (i) => stopNode(nodeAt(i), 'SIGTERM'),
    startBroker: async (i) => {
      const node = nodeAt(i)
      if (node.process === undefined) await startNode(node)
    },
    stop: async () => {
      await Promise.all(nodes.map((n) => stopNode(n, 'SIGTERM')))
      process.removeListener('exit', cleanupOnExit)
      if (options.keepData !== true) rmSync(dataDir, { recursive: true, force: true })
      killGroup(reaper, 'SIGKILL')
    },
  }
}

function writeNodeConfig(node: Node, voters: string, replication: string, minIsr: string, options: StartKafkaOptions, tls: TestTls | undefined): void {
  const secure: Record<string, string> =
    tls === undefined
      ? {}
      : {
          'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
          'listener.name.secure.scram-sha-512.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
          'listener.name.secure.ssl.keystore.location': tls.keystore,
          'listener.name.secure.ssl.keystore.type': 'PKCS12',
          'listener.name.secure.ssl.keystore.password': tls.password,
          'listener.name.secure.ssl.key.password': tls.password,
        }
  const secureListener = tls === undefined ? '' : `,SECURE://127.0.0.1:${node.securePort}`
  const config: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': String(node.id),
    'controller.quorum.voters': voters,
    listeners: `PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}${secureListener}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${node.port}${secureListener}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': `PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${tls === undefined ? '' : ',SECURE:SASL_SSL'}`,
    ...secure,
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': join(node.dir, 'data'),
    'num.partitions': String(options.numPartitions ?? 1),
    'default.replication.factor': replication,
    'min.insync.replicas': minIsr,
    'offsets.topic.replication.factor': replication,
    'transaction.state.log.replication.factor': replication,
    'transaction.state.log.min.isr': minIsr,
    'share.coordinator.state.topic.replication.factor': replication,
    'share.coordinator.state.topic.min.isr': minIsr,
    'group.initial.rebalance.delay.ms': '0',
    ...options.brokerConfig,
  }
  mkdirSync(join(node.dir, 'data'), { recursive: true })
  writeFileSync(join(node.dir, 'server.properties'), Object.entries(config).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')
  writeFileSync(
    join(node.dir, 'log4j2.properties'),
    [
      'status = warn',
      'appender.file.type = File',
      'appender.file.name = file',
      `appender.file.fileName = ${join(node.dir, 'server.log')}`,
      'appender.file.layout.type = PatternLayout',
      'appender.file.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = info',
      'rootLogger.appenderRef.file.ref = file',
      // The state-change and request loggers are chatty at INFO and say nothing a test needs.
      'logger.statechange.name = state.change.logger',
      'logger.statechange.level = warn',
      '',
    ].join('\n'),
  )
}

async function waitForMetadata(node: Node, brokerCount: number, timeoutMs: number, failure: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer yet'
  while (Date.now() < deadline) {
    const reason = failure()
    if (reason !== undefined) throw new TestkitError(`broker ${node.id} stopped while starting: ${reason}`)
    try {
      const ids = await probeBrokers('127.0.0.1', node.port, 2_000)
      if (ids.length >= brokerCount) return
      last = `metadata lists brokers [${ids.join(', ')}] of ${brokerCount}`
    } catch (error) {
      last = (error as Error).message
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new TestkitError(`broker ${node.id} on 127.0.0.1:${node.port} did not answer metadata within ${timeoutMs} ms (${last})`)
}

function tail(file: string, lines: number): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n') : '(no log)'
}

function externalCluster(bootstrapServers: string): KafkaCluster {
  const unavailable = async (): Promise<never> => {
    throw new TestkitError('not available on an external cluster (KAFKA_BROKERS is set)')
  }
  const brokers = bootstrapServers.split(',').map((address, i) => {
    const [host = '', port = '0'] = address.split(':')
    return { id: i + 1, host, port: Number(port), running: true }
  })
  return {
    bootstrapServers,
    brokers,
    external: true,
    secure: undefined,
    logDir: () => {
      throw new TestkitError('log directories are not available on an external cluster (KAFKA_BROKERS is set)')
    },
    serverLog: () => {
      throw new TestkitError('broker logs are not available on an external cluster (KAFKA_BROKERS is set)')
    },
    killBroker: unavailable,
    stopBroker: unavailable,
    startBroker: unavailable,
    stop: async () => undefined,
  }
}

/** The keytool of the JDK whose java runs the brokers (`java` on the PATH: keytool on the PATH too). */
function keytoolBeside(javaBin: string): string {
  return javaBin === 'java' ? 'keytool' : join(dirname(javaBin), 'keytool')
}
