import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect } from 'node:net'
import { TestkitError } from './errors.js'
import { logOptions } from './logging.js'
import { probeBrokers } from './probe.js'
import { resolveKafka } from './resolve.js'
import { runJava } from './tools.js'
import { freePorts, killGroup } from './processes.js'
import { makeTestTls, type TestTls } from './security.js'

/** Options of `startKafka`. */
export interface StartKafkaOptions {
  /** Brokers in the cluster, each also a KRaft controller (before Kafka 3.3: on one ZooKeeper). Default 1. */
  readonly brokers?: 1 | 3
  /**
   * Apache Kafka version from Maven Central, 2.0 or later. Default `DEFAULT_KAFKA_VERSION`. Kafka 3.3 and
   * later run on KRaft; earlier ones on a ZooKeeper the testkit starts beside them.
   */
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
   * for admin in tests. KRaft only (Kafka 3.5 and later: the users are made by `StorageTool format`).
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

/** The ZooKeeper of a cluster before Kafka 3.3: one server on 127.0.0.1, its data beside the brokers'. */
interface ZooKeeper {
  readonly port: number
  readonly dir: string
  process: ChildProcess | undefined
}

const here = dirname(fileURLToPath(import.meta.url))

/**
 * Starts a real Apache Kafka on 127.0.0.1: Kafka's own jars from Maven Central (cached), KRaft storage
 * formatted with Kafka's StorageTool (before Kafka 3.3: a ZooKeeper server from the same classpath
 * instead), `kafka.Kafka` on free ports, and waits until every broker answers metadata. A detached reaper
 * kills the JVMs and removes the data if this process dies, however it dies. With `KAFKA_BROKERS` set it
 * starts nothing and returns that cluster.
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
  if (options.secure !== undefined && runtime.quorum === 'zookeeper') {
    throw new TestkitError(`secure listeners need a KRaft cluster (Kafka 3.5 or later); Kafka ${runtime.version} runs on ZooKeeper`)
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'topicflow-kafka-'))
  const ports = await freePorts(count * 3 + 1)
  const nodes: Node[] = Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    port: ports[i * 3]!,
    controllerPort: ports[i * 3 + 1]!,
    securePort: ports[i * 3 + 2]!,
    dir: join(dataDir, `broker-${i + 1}`),
    process: undefined,
  }))
  const zookeeper: ZooKeeper | undefined = runtime.quorum === 'zookeeper' ? { port: ports[count * 3]!, dir: join(dataDir, 'zookeeper'), process: undefined } : undefined
  const voters = nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',')
  const replication = String(count)
  const minIsr = count === 3 ? '2' : '1'
  // A base64url id can start with '-', which Kafka's tools read as an option (Kafka's own Uuid skips those).
  let clusterId = randomBytes(16).toString('base64url')
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url')

  const processes = (): Array<ChildProcess | undefined> => [...nodes.map((n) => n.process), zookeeper?.process]
  const cleanupOnExit = (): void => {
    for (const child of processes()) killGroup(child, 'SIGKILL')
    if (options.keepData !== true) rmSync(dataDir, { recursive: true, force: true })
  }
  process.once('exit', cleanupOnExit)
  const reaper = spawn(process.execPath, [join(here, 'reaper.js'), String(process.pid), dataDir], { detached: true, stdio: 'ignore' })
  reaper.unref()

  const writePids = (): void => {
    writeFileSync(join(dataDir, 'pids'), processes().map((child) => child?.pid ?? '').join('\n'))
  }

  /** Spawns one of the cluster's JVMs, detached (its own process group), keeping the tail of its stderr. */
  const spawnJvm = (jvmOptions: readonly string[], mainClass: string, config: string, onExit: () => void): { child: ChildProcess; stderr: () => string } => {
    const child = spawn(runtime.javaBin, [...jvmOptions, '-Djava.awt.headless=true', '-cp', runtime.classpath, mainClass, config], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
    child.once('exit', onExit)
    return { child, stderr: () => stderr }
  }

  const startNode = async (node: Node): Promise<void> => {
    const logging = logOptions(runtime, join(node.dir, runtime.logging === 'log4j2' ? 'log4j2.properties' : 'log4j.properties'), { file: join(node.dir, 'server.log') })
    const { child, stderr } = spawnJvm([...JVM_OPTIONS[options.jvm ?? 'test'], ...logging], 'kafka.Kafka', join(node.dir, 'server.properties'), () => {
      if (node.process === child) node.process = undefined
    })
    node.process = child
    writePids()
    await waitFor(`broker ${node.id}`, options.startTimeoutMs ?? 90_000, () => metadataLists(node.port, count), () => (node.process === undefined ? `the JVM exited: ${stderr()}` : undefined))
  }

  const startZooKeeper = async (zk: ZooKeeper): Promise<void> => {
    mkdirSync(join(zk.dir, 'data'), { recursive: true })
    // No admin server (it would take port 8080) and no connection limit (a test may open many).
    const config = { dataDir: join(zk.dir, 'data'), clientPort: String(zk.port), clientPortAddress: '127.0.0.1', maxClientCnxns: '0', 'admin.enableServer': 'false' }
    writeFileSync(join(zk.dir, 'zookeeper.properties'), properties(config))
    const logging = logOptions(runtime, join(zk.dir, 'log4j.properties'), { file: join(zk.dir, 'zookeeper.log') })
    const { child, stderr } = spawnJvm(['-Xms64m', '-Xmx256m', '-XX:TieredStopAtLevel=1', ...logging], 'org.apache.zookeeper.server.ZooKeeperServerMain', join(zk.dir, 'zookeeper.properties'), () => {
      if (zk.process === child) zk.process = undefined
    })
    zk.process = child
    writePids()
    await waitFor('ZooKeeper', options.startTimeoutMs ?? 90_000, () => accepts(zk.port), () => (zk.process === undefined ? `the JVM exited: ${stderr()}` : undefined))
  }

  let tls: TestTls | undefined
  try {
    tls = options.secure === undefined ? undefined : makeTestTls(dataDir, keytoolBeside(runtime.javaBin))
    const scram = Object.entries(options.secure?.scramUsers ?? {}).flatMap(([name, password]) => ['--add-scram', `SCRAM-SHA-512=[name=${name},password=${password}]`])
    for (const node of nodes) writeNodeConfig(node, zookeeper === undefined ? { voters } : { zookeeperPort: zookeeper.port }, replication, minIsr, options, tls)
    if (zookeeper === undefined) {
      await Promise.all(
        nodes.map(async (node) => {
          const format = await runJava(runtime, 'kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', join(node.dir, 'server.properties'), ...scram], {
            timeoutMs: 120_000,
          })
          if (format.code !== 0) throw new TestkitError(`Kafka's StorageTool could not format ${node.dir}: ${format.stderr || format.stdout}`)
        }),
      )
    } else await startZooKeeper(zookeeper)
    await Promise.all(nodes.map(startNode))
  } catch (error) {
    const logs = [
      ...(zookeeper === undefined ? [] : [`--- ZooKeeper (${join(zookeeper.dir, 'zookeeper.log')}):\n${tail(join(zookeeper.dir, 'zookeeper.log'), 30)}`]),
      ...nodes.map((n) => `--- broker ${n.id} (${join(n.dir, 'server.log')}):\n${tail(join(n.dir, 'server.log'), 30)}`),
    ].join('\n')
    cleanupOnExit()
    process.removeListener('exit', cleanupOnExit)
    throw new TestkitError(`Kafka ${runtime.version} did not start: ${(error as Error).message}\n${logs}`, { cause: error })
  }

  const nodeAt = (i: number): Node => {
    const node = nodes[i]
    if (node === undefined) throw new TestkitError(`no broker ${i}: the cluster has brokers 0 to ${nodes.length - 1}`)
    return node
  }
  const stopProcess = async (holder: { process: ChildProcess | undefined }, signal: NodeJS.Signals): Promise<void> => {
    const running = holder.process
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
    killBroker: (i) => stopProcess(nodeAt(i), 'SIGKILL'),
    stopBroker: (i) => stopProcess(nodeAt(i), 'SIGTERM'),
    startBroker: async (i) => {
      const node = nodeAt(i)
      if (node.process === undefined) await startNode(node)
    },
    stop: async () => {
      await Promise.all(nodes.map((n) => stopProcess(n, 'SIGTERM')))
      // Brokers first: a broker whose ZooKeeper is gone spends its shutdown retrying it.
      if (zookeeper !== undefined) await stopProcess(zookeeper, 'SIGTERM')
      process.removeListener('exit', cleanupOnExit)
      if (options.keepData !== true) rmSync(dataDir, { recursive: true, force: true })
      killGroup(reaper, 'SIGKILL')
    },
  }
}

/** Where a broker's cluster metadata lives: the KRaft controllers (`voters`), or a ZooKeeper on 127.0.0.1. */
type Quorum = { readonly voters: string } | { readonly zookeeperPort: number }

function writeNodeConfig(node: Node, quorum: Quorum, replication: string, minIsr: string, options: StartKafkaOptions, tls: TestTls | undefined): void {
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
  const secureProtocol = tls === undefined ? '' : ',SECURE:SASL_SSL'
  const metadata: Record<string, string> =
    'voters' in quorum
      ? {
          'process.roles': 'broker,controller',
          'node.id': String(node.id),
          'controller.quorum.voters': quorum.voters,
          listeners: `PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}${secureListener}`,
          'controller.listener.names': 'CONTROLLER',
          'listener.security.protocol.map': `PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${secureProtocol}`,
          'share.coordinator.state.topic.replication.factor': replication,
          'share.coordinator.state.topic.min.isr': minIsr,
        }
      : {
          'broker.id': String(node.id),
          'zookeeper.connect': `127.0.0.1:${quorum.zookeeperPort}`,
          // Kafka 2.x gives up on ZooKeeper after 6 s, which a busy machine's JVMs can take to start.
          'zookeeper.connection.timeout.ms': '30000',
          listeners: `PLAINTEXT://127.0.0.1:${node.port}${secureListener}`,
          'listener.security.protocol.map': `PLAINTEXT:PLAINTEXT${secureProtocol}`,
        }
  const config: Record<string, string> = {
    ...metadata,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${node.port}${secureListener}`,
    ...secure,
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': join(node.dir, 'data'),
    'num.partitions': String(options.numPartitions ?? 1),
    'default.replication.factor': replication,
    'min.insync.replicas': minIsr,
    'offsets.topic.replication.factor': replication,
    'transaction.state.log.replication.factor': replication,
    'transaction.state.log.min.isr': minIsr,
    'group.initial.rebalance.delay.ms': '0',
    ...options.brokerConfig,
  }
  mkdirSync(join(node.dir, 'data'), { recursive: true })
  writeFileSync(join(node.dir, 'server.properties'), properties(config))
}

function properties(entries: Readonly<Record<string, string>>): string {
  return Object.entries(entries).map(([k, v]) => `${k}=${v}`).join('\n') + '\n'
}

/** Asks `ready` every 250 ms until it answers true; fails when `failure` names a reason or after `timeoutMs`. */
async function waitFor(what: string, timeoutMs: number, ready: () => Promise<true | string>, failure: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer yet'
  while (Date.now() < deadline) {
    const reason = failure()
    if (reason !== undefined) throw new TestkitError(`${what} stopped while starting: ${reason}`)
    try {
      const answer = await ready()
      if (answer === true) return
      last = answer
    } catch (error) {
      last = (error as Error).message
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new TestkitError(`${what} was not ready within ${timeoutMs} ms (${last})`)
}

/** True once the broker on `port` lists `brokerCount` brokers in its metadata; else what it lists. */
async function metadataLists(port: number, brokerCount: number): Promise<true | string> {
  const ids = await probeBrokers('127.0.0.1', port, 2_000)
  return ids.length >= brokerCount || `127.0.0.1:${port}: metadata lists brokers [${ids.join(', ')}] of ${brokerCount}`
}

/** True once something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<true | string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', (error) => resolve(`127.0.0.1:${port}: ${error.message}`))
  })
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
