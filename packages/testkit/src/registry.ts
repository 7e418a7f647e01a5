import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TestkitError } from './errors.js'
import { freePorts, killGroup } from './processes.js'
import { cacheDir, fetchOnce, findJava, runMaven } from './resolve.js'

/** The Apicurio Registry release the testkit starts: the newest 3.x on Maven Central that runs on Java 17 (3.3 needs Java 21). */
export const DEFAULT_REGISTRY_VERSION = '3.0.9'

/** Options of `startSchemaRegistry`. */
export interface StartRegistryOptions {
  /** Apicurio Registry version from Maven Central. Default `DEFAULT_REGISTRY_VERSION`. */
  readonly version?: string
  /** Global compatibility, as Confluent's registry defaults to. Default `BACKWARD`. */
  readonly compatibility?: 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE' | 'NONE'
  /** How long to wait until it answers. Default 120000. */
  readonly startTimeoutMs?: number
}

/** A running schema registry (or, with `SCHEMA_REGISTRY_URL`, an existing one). */
export interface SchemaRegistry {
  /** The Confluent-compatible API's base URL, e.g. `http://127.0.0.1:PORT/apis/ccompat/v7`. */
  readonly url: string
  /** True when `SCHEMA_REGISTRY_URL` named it and nothing was started. */
  readonly external: boolean
  /** Stops it; its storage is in memory and goes with it. */
  stop(): Promise<void>
}

const here = dirname(fileURLToPath(import.meta.url))

/** Resolves Apicurio Registry's `all` distribution from Maven Central (once) and returns its runner jar. */
export function resolveRegistry(version = DEFAULT_REGISTRY_VERSION): string {
  const home = join(cacheDir(), `apicurio-registry-${version}`)
  fetchOnce(home, `Apicurio Registry ${version}`, (staging) => {
    runMaven(['dependency:copy', `-Dartifact=io.apicurio:apicurio-registry-app:${version}:tar.gz:all`, `-DoutputDirectory=${staging}`], `Apicurio Registry ${version}`)
    const archive = join(staging, `apicurio-registry-app-${version}-all.tar.gz`)
    const untar = spawnSync('tar', ['xzf', archive, '-C', staging], { encoding: 'utf8' })
    if (untar.status !== 0) throw new TestkitError(`Could not unpack ${archive}: ${untar.stderr}`)
    rmSync(archive)
  })
  const runner = readdirSync(home).find((f) => f.endsWith('-runner.jar') || f === 'quarkus-run.jar')
  if (runner === undefined) throw new TestkitError(`Apicurio Registry ${version} in ${home} has no runner jar`)
  return join(home, runner)
}

/**
 * Starts a real Confluent-API-compatible schema registry on 127.0.0.1: Apicurio Registry from Maven
 * Central (in-memory storage), its Confluent API at `/apis/ccompat/v7`, with a global compatibility rule
 * set so that `GET /config/{subject}` answers as Confluent's registry does. With `SCHEMA_REGISTRY_URL`
 * set it starts nothing and returns that one.
 *
 * @example
 * const registry = await startSchemaRegistry()
 * console.log(registry.url)   // http://127.0.0.1:41234/apis/ccompat/v7
 * await registry.stop()
 */
export async function startSchemaRegistry(options: StartRegistryOptions = {}): Promise<SchemaRegistry> {
  const external = process.env.SCHEMA_REGISTRY_URL?.trim()
  if (external) return { url: external.replace(/\/$/, ''), external: true, stop: async () => undefined }
  const javaBin = findJava()
  const jar = resolveRegistry(options.version)
  const [port] = await freePorts(1)
  const dataDir = mkdtempSync(join(tmpdir(), 'topicflow-registry-'))
  const child: ChildProcess = spawn(
    javaBin,
    ['-Xmx512m', '-XX:TieredStopAtLevel=1', `-Dquarkus.http.port=${port}`, '-Dquarkus.http.host=127.0.0.1', '-Dquarkus.log.level=WARN', '-jar', jar],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'], cwd: dataDir },
  )
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
  // The same reaper as the brokers': if this process dies, the registry's JVM goes too.
  writeFileSync(join(dataDir, 'pids'), String(child.pid ?? ''))
  const reaper = spawn(process.execPath, [join(here, 'reaper.js'), String(process.pid), dataDir], { detached: true, stdio: 'ignore' })
  reaper.unref()
  const cleanup = (): void => {
    killGroup(child, 'SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
  }
  process.once('exit', cleanup)
  const url = `http://127.0.0.1:${port}/apis/ccompat/v7`
  try {
    const deadline = Date.now() + (options.startTimeoutMs ?? 120_000)
    for (;;) {
      if (child.exitCode !== null) throw new TestkitError(`the registry's JVM exited (${child.exitCode}): ${stderr}`)
      const answered = await fetch(`${url}/subjects`).then((r) => r.ok, () => false)
      if (answered) break
      if (Date.now() > deadline) throw new TestkitError(`the registry on ${url} did not answer within ${options.startTimeoutMs ?? 120_000} ms: ${stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    const configured = await fetch(`${url}/config`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ compatibility: options.compatibility ?? 'BACKWARD' }),
    })
    if (!configured.ok) throw new TestkitError(`the registry refused the global compatibility: ${configured.status} ${await configured.text()}`)
  } catch (error) {
    cleanup()
    process.removeListener('exit', cleanup)
    killGroup(reaper, 'SIGKILL')
    throw error
  }
  return {
    url,
    external: false,
    stop: async () => {
      const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())))
      killGroup(child, 'SIGTERM')
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
      process.removeListener('exit', cleanup)
      rmSync(dataDir, { recursive: true, force: true })
      killGroup(reaper, 'SIGKILL')
    },
  }
}
