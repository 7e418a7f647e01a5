import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { TestkitError } from './errors.js'

/** The Kafka release the testkit starts unless told otherwise. kafkajs 2.2.4 produces, fetches and administers against it. */
export const DEFAULT_KAFKA_VERSION = '4.1.1'
const LOG4J_VERSION = '2.24.3'
/** log4j 1's API, maintained (CVE fixes), for Kafka before 4.0; and its slf4j 1.7 binding. */
const RELOAD4J_VERSION = '1.2.25'
const SLF4J_RELOAD4J_VERSION = '1.7.36'
/**
 * The ZooKeeper given to Kafka before 2.4 instead of its own 3.4: that client cannot connect on Java 14
 * and later (it parses `InetSocketAddress.toString()`, whose format changed, and fails with
 * UnresolvedAddressException); 3.5.9 is the one Kafka 2.8 ships, and Kafka 2.0 to 2.3 run on it.
 */
const ZOOKEEPER_FOR_OLD_KAFKA = '3.5.9'

/** Kafka's jars, resolved from Maven Central, and the Java that runs them. */
export interface KafkaRuntime {
  readonly version: string
  /** A Java classpath (`dir/*`) holding the broker, Kafka's tools and the logging backend. */
  readonly classpath: string
  /** The `java` executable. */
  readonly javaBin: string
  /**
   * Where the cluster keeps its metadata: KRaft controllers (Kafka 3.3 and later, where KRaft is
   * production-ready), or a ZooKeeper (before; the server is on the broker's classpath).
   */
  readonly quorum: 'kraft' | 'zookeeper'
  /** The logging backend on the classpath: log4j2 (Kafka 4), or log4j 1's API through reload4j (before). */
  readonly logging: 'log4j2' | 'log4j1'
}

/** Whether Kafka `version` is `than` or later, compared number by number (2.10 comes after 2.4). */
export function kafkaAtLeast(version: string, than: string): boolean {
  return version.localeCompare(than, 'en', { numeric: true }) >= 0
}

/** Where resolved jars are cached: `$XDG_CACHE_HOME/topicflow` or `~/.cache/topicflow`. */
export function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'topicflow')
}

/** Scala 2.13 builds of Kafka exist from 2.4 on; before, 2.12 ones. */
function scalaOf(version: string): string {
  return kafkaAtLeast(version, '2.4') ? '2.13' : '2.12'
}

function pom(version: string, logging: KafkaRuntime['logging']): string {
  const dependency = (group: string, artifact: string, v: string, exclusions = '') =>
    `    <dependency><groupId>${group}</groupId><artifactId>${artifact}</artifactId><version>${v}</version>${exclusions}</dependency>`
  const exclude = (group: string, artifact: string) => `<exclusion><groupId>${group}</groupId><artifactId>${artifact}</artifactId></exclusion>`
  // Kafka's POMs leave the logging backend out: 4.x logs through log4j2 behind slf4j 1.7, earlier ones
  // through log4j 1 (reload4j here; ZooKeeper's own log4j 1.2.17 binding is left out in its favour).
  const backend =
    logging === 'log4j2'
      ? [
          dependency('org.apache.logging.log4j', 'log4j-api', LOG4J_VERSION),
          dependency('org.apache.logging.log4j', 'log4j-core', LOG4J_VERSION),
          dependency('org.apache.logging.log4j', 'log4j-slf4j-impl', LOG4J_VERSION),
        ]
      : [dependency('ch.qos.reload4j', 'reload4j', RELOAD4J_VERSION), dependency('org.slf4j', 'slf4j-reload4j', SLF4J_RELOAD4J_VERSION)]
  const zookeeper = kafkaAtLeast(version, '2.4')
    ? []
    : [dependency('org.apache.zookeeper', 'zookeeper', ZOOKEEPER_FOR_OLD_KAFKA, `<exclusions>${exclude('log4j', 'log4j')}${exclude('org.slf4j', 'slf4j-log4j12')}</exclusions>`)]
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.topicflow</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
${[dependency('org.apache.kafka', `kafka_${scalaOf(version)}`, version), dependency('org.apache.kafka', 'kafka-tools', version), ...zookeeper, ...backend].join('\n')}
  </dependencies>
</project>
`
}

/** Checks for Java >= 17 and returns the executable. */
export function findJava(): string {
  const javaBin = process.env.JAVA_HOME === undefined ? 'java' : join(process.env.JAVA_HOME, 'bin', 'java')
  const probe = spawnSync(javaBin, ['-version'], { encoding: 'utf8' })
  if (probe.error !== undefined || probe.status !== 0) {
    throw new TestkitError(`Java 17 or newer is needed to run Kafka, and "${javaBin}" did not run (${probe.error?.message ?? probe.stderr}). Install a JDK (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME.`)
  }
  const major = Number(/version "(\d+)/.exec(probe.stderr)?.[1] ?? 0)
  if (major < 17) throw new TestkitError(`Kafka 4 needs Java 17 or newer; ${javaBin} is Java ${major}. Install a newer JDK or set JAVA_HOME.`)
  return javaBin
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/**
 * Fills `target` once, with `fetch(staging)`, and returns. Later calls (and other processes) reuse it:
 * a lock folder serialises fetches, and the folder appears complete or not at all (atomic rename of a
 * staging folder marked `.complete`).
 */
export function fetchOnce(target: string, what: string, fetch: (staging: string) => void): void {
  if (existsSync(join(target, '.complete'))) return
  const home = dirname(target)
  mkdirSync(home, { recursive: true })
  const lock = `${target}.lock`
  const lockDeadline = Date.now() + 10 * 60_000
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      if (existsSync(join(target, '.complete'))) return
      // A lock older than ten minutes belongs to a process that died mid-download.
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 10 * 60_000) rmSync(lock, { recursive: true, force: true })
      if (Date.now() > lockDeadline) throw new TestkitError(`Timed out waiting for another process to fetch ${what} (lock ${lock})`)
      sleepSync(500)
    }
  }
  try {
    if (existsSync(join(target, '.complete'))) return
    const staging = `${target}.${process.pid}`
    rmSync(staging, { recursive: true, force: true })
    mkdirSync(staging, { recursive: true })
    try {
      fetch(staging)
    } catch (error) {
      rmSync(staging, { recursive: true, force: true })
      throw error
    }
    writeFileSync(join(staging, '.complete'), new Date().toISOString())
    rmSync(target, { recursive: true, force: true })
    renameSync(staging, target)
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

/** Runs mvn; a `TestkitError` with the tail of its output when it fails. */
export function runMaven(args: readonly string[], what: string): void {
  const result = spawnSync('mvn', ['-B', '-q', ...args], { encoding: 'utf8', timeout: 15 * 60_000 })
  if (result.error !== undefined && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new TestkitError(`Maven is needed to fetch ${what} from Maven Central and "mvn" did not run. Install it (Debian: apt-get install maven).`)
  }
  if (result.status !== 0) {
    const tail = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n')
    throw new TestkitError(`Could not fetch ${what} from Maven Central with mvn (exit ${result.status}):\n${tail}`)
  }
}

/**
 * Resolves Apache Kafka's own jars (broker, tools, the logging backend; before 2.4 a ZooKeeper that runs
 * on Java 17) from Maven Central with `mvn dependency:copy-dependencies` into the cache folder, once per
 * version: later calls reuse them.
 *
 * @example
 * const { classpath } = resolveKafka()
 */
export function resolveKafka(options: { version?: string } = {}): KafkaRuntime {
  const version = options.version ?? DEFAULT_KAFKA_VERSION
  const javaBin = findJava()
  const logging = kafkaAtLeast(version, '4.0') ? 'log4j2' : 'log4j1'
  const broker = `kafka_${scalaOf(version)}`
  const home = join(cacheDir(), `kafka-${version}`)
  const libs = join(home, 'libs')
  fetchOnce(libs, `Apache Kafka ${version}`, (staging) => {
    mkdirSync(home, { recursive: true })
    writeFileSync(join(home, 'pom.xml'), pom(version, logging))
    runMaven(['-f', join(home, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`, '-DincludeScope=runtime'], `Apache Kafka ${version}`)
    if (!readdirSync(staging).some((f) => f.startsWith(broker))) throw new TestkitError(`mvn fetched no ${broker} jar for Apache Kafka ${version}`)
  })
  return { version, classpath: join(libs, '*'), javaBin, quorum: kafkaAtLeast(version, '3.3') ? 'kraft' : 'zookeeper', logging }
}
