import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * What a user gets from npm: every publishable package packed as `npm publish` would pack it, installed
 * together with rxjs from the registry into a TypeScript project outside the monorepo (no workspace
 * links, no hoisting from our node_modules), then compiled with `nodenext` and `strict`. It fails when a
 * package's exports map points at files the tarball lacks, when its declarations need something it does
 * not depend on, or when a package brings its own rxjs (a dependency instead of a peer): the project then
 * holds two copies, whose classes are not interchangeable (TypeScript refuses one copy's `Subscriber` where
 * the other's is expected, for their protected members). Tried once with core's rxjs as a plain
 * dependency pinned to 7.5.0: `npm ls` listed a second copy under @topicflow/core and the test failed.
 */

const execFileAsync = promisify(execFile)
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

interface Outcome {
  readonly ok: boolean
  readonly output: string
}

/** Runs a command, resolving with whether it exited 0 and what it printed (so a failure shows in the assertion). */
async function run(command: string, args: readonly string[], cwd: string): Promise<Outcome> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { cwd, maxBuffer: 64 * 1024 * 1024 })
    return { ok: true, output: `${stdout}${stderr}` }
  } catch (error) {
    const { stdout = '', stderr = '', message } = error as { stdout?: string; stderr?: string; message: string }
    return { ok: false, output: `${stdout}${stderr}` || message }
  }
}

/** The workspace folders under packages/ that npm would publish (not private). */
async function publishablePackages(): Promise<Array<{ readonly folder: string; readonly name: string }>> {
  const found = []
  for (const folder of (await readdir(join(root, 'packages'))).sort()) {
    const manifest = JSON.parse(await readFile(join(root, 'packages', folder, 'package.json'), 'utf8')) as { name: string; private?: boolean }
    if (manifest.private !== true) found.push({ folder: `packages/${folder}`, name: manifest.name })
  }
  return found
}

// Every package's main entry and core's subpaths, used as an application would: the app's own rxjs
// Observable goes through every operator (otel's included) and comes back as the app's Observable.
const INDEX_TS = `import { from, type Observable } from 'rxjs'
import { batch, compress, json, key, partition, retry, serialize, toKafka, type DeliveryReport, type Transport } from '@topicflow/core'
import { messageOf, sleep, untilDeadline } from '@topicflow/core/internal'
import { MemoryTransport } from '@topicflow/core/testing'
import { compressionCodecs, type CompressionCodecName } from '@topicflow/codecs'
import { wireTransport } from '@topicflow/wire'
import { kafkajsTransport, registerCodecs } from '@topicflow/kafkajs'
import { avroSerializer } from '@topicflow/avro'
import { kafkaTracing } from '@topicflow/otel'
import { startKafka, type KafkaCluster } from '@topicflow/testkit'
import { producerSettings } from '@topicflow/cli'

interface Order {
  readonly id: string
  readonly total: number
}

const memory = new MemoryTransport({ topics: { orders: 3 } })
const tracing = kafkaTracing<Order>()
export const reports: Observable<DeliveryReport<Order>> = from<Order[]>([{ id: 'a', total: 3 }]).pipe(
  serialize('orders', json<Order>()),
  key((order) => order.id),
  tracing.records(),
  partition(memory),
  batch({ lingerMs: 5 }),
  compress('zstd'),
  retry({ deliveryTimeoutMs: 10_000 }),
  toKafka(memory, { instrumentation: tracing.instrumentation }),
)
export const transports: readonly Transport[] = [memory, wireTransport({ brokers: ['127.0.0.1:9092'] }), kafkajsTransport({ brokers: ['127.0.0.1:9092'] })]
export const codec: CompressionCodecName = 'zstd'
export const compressed: Promise<Buffer> = compressionCodecs[codec].compress(Buffer.from('{}'))
export const serializer = avroSerializer<Order>({ registry: 'http://127.0.0.1:8081', topic: 'orders', schema: { type: 'record', name: 'Order', fields: [{ name: 'id', type: 'string' }, { name: 'total', type: 'int' }] } })
export const count: Promise<number> = untilDeadline({ timeoutMs: 1000, backoff: () => 10, attempt: async () => 1, onDeadline: (e) => new Error(messageOf(e)) })
export const cluster: () => Promise<KafkaCluster> = () => startKafka({ brokers: 1 })
export const settings = producerSettings
export const waited: Promise<void> = sleep(0)
registerCodecs()
`

describe('the packed packages', () => {
  let work: string
  let project: string
  let packages: Array<{ readonly folder: string; readonly name: string }>

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'topicflow-packaging-'))
    project = join(work, 'app')
    const tarballs = join(work, 'tarballs')
    await mkdir(tarballs)
    await mkdir(project)
    packages = await publishablePackages()
    const packed = await run('npm', ['pack', '--json', '--pack-destination', tarballs, ...packages.flatMap((p) => ['--workspace', p.folder])], root)
    if (!packed.ok) throw new Error(`npm pack failed:\n${packed.output}`)
    const files = JSON.parse(packed.output.slice(packed.output.indexOf('['))) as Array<{ name: string; filename: string }>
    const dependencies = Object.fromEntries(files.map((f) => [f.name, `file:${join(tarballs, f.filename)}`]))
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'topicflow-packaging-check',
        private: true,
        type: 'module',
        // What an application installs beside topicflow: rxjs (core's peer), otel's peer, Node's types.
        dependencies: { ...dependencies, rxjs: '^7.8.2', '@opentelemetry/api': '^1.9.0', '@types/node': '^20.19.0' },
      }),
    )
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: ['node'] }, files: ['index.ts'] }),
    )
    await writeFile(join(project, 'index.ts'), INDEX_TS)
    // One install for everything; no install scripts: the native codecs ship as prebuilt platform packages.
    const installed = await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline', '--loglevel=error'], project)
    if (!installed.ok) throw new Error(`npm install failed:\n${installed.output}`)
  }, 600_000)

  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true })
  })

  it('packs every publishable package', () => {
    expect(packages.map((p) => p.name)).toEqual(
      expect.arrayContaining(['@topicflow/core', '@topicflow/codecs', '@topicflow/wire', '@topicflow/kafkajs', '@topicflow/avro', '@topicflow/otel', '@topicflow/cli', '@topicflow/testkit']),
    )
  })

  it('installs with a single rxjs, the application’s', async () => {
    const listed = await run('npm', ['ls', 'rxjs', '--all', '--parseable'], project)
    expect(listed.ok, listed.output).toBe(true)
    expect([...new Set(listed.output.trim().split('\n'))]).toEqual([join(project, 'node_modules', 'rxjs')])
  })

  it('compiles against every entry point with nodenext and strict, without errors', async () => {
    const compiled = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], project)
    expect(compiled.output).toBe('')
    expect(compiled.ok).toBe(true)
  })

  it('loads every entry point at run time', async () => {
    const entries = [...packages.map((p) => p.name), '@topicflow/core/internal', '@topicflow/core/testing']
    const script = `for (const entry of ${JSON.stringify(entries)}) await import(entry)`
    const loaded = await run(process.execPath, ['--input-type=module', '--eval', script], project)
    expect(loaded.output).toBe('')
    expect(loaded.ok).toBe(true)
  })
})
