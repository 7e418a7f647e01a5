/**
 * The ETL section: topic → topic at least once with the example's transform (`enrich` of
 * examples/etl-enrich), `count` JSON orders of ~200 B in a 12-partition input (seeded once by topicflow,
 * uncompressed, keyed by order id), each contender in a child process of its own with a fresh group id
 * into a fresh 12-partition output topic, until the output holds `count` records (checked at the broker
 * afterwards): topicflow's `enrichPipeline` steps against the same job written with kafkajs
 * (`eachBatch` + `sendBatch` + `resolveOffset` + `commitOffsetsIfNecessary`).
 */
import { fileURLToPath } from 'node:url'
import { createTopicsAndWait } from '@topicflow/kafkajs'
import { runNode } from '../compare/run.js'
import { installedVersion, nodeRuntimeLabel, topicflowVersion } from '../versions.js'
import { step, type BenchAdmin } from '../topics.js'
import { readJobToEnv, type ReadResult } from '../consume/job.js'
import { averageOrderBytes } from './orders.js'

export const ETL_PARTITIONS = 12

/** One row of the ETL table (and of `--json`'s `etl.results`). */
export interface EtlRow {
  readonly name: string
  readonly records: number
  /** What the output topic held afterwards (at least once: duplicates after a retry or a rebalance would show here). */
  readonly outputRecords: number
  readonly recordsPerSec: number
  readonly cpuSeconds: number
  readonly cpuPerMillion: number
  readonly peakRssMb: number
  readonly version: string
  readonly runtime: string
}

export interface EtlOptions {
  readonly admin: BenchAdmin
  readonly brokers: readonly string[]
  readonly count: number
  readonly log: (line: string) => void
}

export async function compareEtl(options: EtlOptions): Promise<{ orderBytes: number; rows: EtlRow[] }> {
  const { admin, brokers, count, log } = options
  const stamp = Date.now()
  const input = `bench-etl-orders-${stamp}`
  const orderBytes = averageOrderBytes()
  const script = (path: string): string => fileURLToPath(new URL(`../etl/${path}.js`, import.meta.url))
  const contenders = [
    { name: 'topicflow', script: 'topicflow', version: topicflowVersion() },
    { name: 'kafkajs eachBatch + sendBatch', script: 'kafkajs', version: installedVersion('kafkajs') },
  ]
  await step(`creating ${input}`, () => createTopicsAndWait(admin.admin, { topics: [{ topic: input, numPartitions: ETL_PARTITIONS }] }))
  const rows: EtlRow[] = []
  try {
    log(`ETL: seeding ${count.toLocaleString('en')} JSON orders (${orderBytes} B on average) into ${input} (topicflow, uncompressed, ${ETL_PARTITIONS} partitions)…`)
    await runNode(script('seed'), { BENCH_BROKERS: brokers.join(','), BENCH_TOPIC: input, BENCH_COUNT: String(count) })
    const seeded = await recordsIn(admin, input)
    if (seeded !== count) throw new Error(`ETL: ${count} orders seeded, ${seeded} in ${input}`)
    for (const contender of contenders) {
      const output = `bench-etl-enriched-${contender.script}-${Date.now()}`
      await step(`creating ${output}`, () => createTopicsAndWait(admin.admin, { topics: [{ topic: output, numPartitions: ETL_PARTITIONS }] }))
      try {
        const groupId = `bench-etl-${contender.script}-${Date.now()}`
        const result = (await runNode(script(contender.script), readJobToEnv({ brokers: [...brokers], topic: input, count, groupId, outputTopic: output }))) as unknown as ReadResult
        const landed = await recordsIn(admin, output)
        if (result.records < count || landed < count) throw new Error(`ETL ${contender.name}: ${result.records} outputs acknowledged, ${landed} in ${output}, of ${count}`)
        const perSec = result.records / result.seconds
        log(`  ETL ${contender.name}: ${Math.round(perSec).toLocaleString('en')} records/s (${landed.toLocaleString('en')} in the output)`)
        rows.push({
          name: contender.name,
          records: result.records,
          outputRecords: landed,
          recordsPerSec: Math.round(perSec),
          cpuSeconds: Math.round(result.cpuSeconds * 100) / 100,
          cpuPerMillion: Math.round((result.cpuSeconds / result.records) * 1e8) / 100,
          peakRssMb: Math.round(result.peakRssMb),
          version: contender.version,
          runtime: nodeRuntimeLabel(),
        })
      } finally {
        await admin.admin.deleteTopics({ topics: [output] }).catch(() => undefined)
      }
    }
  } finally {
    await admin.admin.deleteTopics({ topics: [input] }).catch(() => undefined)
  }
  return { orderBytes, rows }
}

async function recordsIn(admin: BenchAdmin, topic: string): Promise<number> {
  const offsets = await step(`counting the records in ${topic}`, () => admin.admin.fetchTopicOffsets(topic))
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0)
}
