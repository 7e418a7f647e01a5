/**
 * Each way this runtime offers to compress a codec, on the record batches the comparison sends: what
 * `@topicflow/codecs` chooses from (zstd: the `@mongodb-js/zstd` package, or `node:zlib`'s zstd on
 * Node >= 22.15). Run as a child process on the runtime under test (`--node`); prints one JSON line.
 *
 * Each implementation compresses the same 64 KiB batches (records of 100 B and of 1 KiB, concatenated as
 * a batch's records are) four at a time, as the transport has them on libuv's thread pool, then
 * decompresses them; the figures are MB/s of input, the process's CPU (main thread and pool) per MB, and
 * the compressed size as a share of the input. Best of three passes. `BENCH_SIZES` ("100,1024") sets the
 * record sizes, `BENCH_CODEC_BATCHES` (800) the batches per pass. Only its types are imported elsewhere: importing the module runs it.
 */
import { promisify } from 'node:util'
import * as zlib from 'node:zlib'
import zstd from '@mongodb-js/zstd'
import { benchRecords } from './compare/records.js'

export interface CodecImplementationResult {
  readonly codec: string
  readonly implementation: string
  readonly recordSize: number
  readonly compressMbPerSec: number
  readonly compressCpuMsPerMb: number
  readonly decompressMbPerSec: number
  readonly decompressCpuMsPerMb: number
  /** Compressed bytes / input bytes. */
  readonly ratio: number
}

interface Implementation {
  readonly codec: string
  readonly name: string
  compress(data: Buffer): Promise<Buffer>
  decompress(data: Buffer): Promise<Buffer>
}

/** node:zlib's zstd functions, as Node 22.15 has them. */
interface NodeZstd {
  zstdCompress(data: Buffer, options: { params: Record<number, number> }, callback: (error: Error | null, result: Buffer) => void): void
  zstdDecompress(data: Buffer, options: object, callback: (error: Error | null, result: Buffer) => void): void
}

const BATCH_BYTES = 64 * 1024
const BATCHES = Number(process.env.BENCH_CODEC_BATCHES ?? 800)
const IN_FLIGHT = 4
const PASSES = 3

function implementations(): Implementation[] {
  const found: Implementation[] = [
    { codec: 'zstd', name: '@mongodb-js/zstd', compress: (data) => zstd.compress(data, 3), decompress: (data) => zstd.decompress(data) },
  ]
  // node:zlib's zstd (Node 22.15 and later; @types/node 20 does not know it); level 3 is Java's
  // compression.zstd.level default.
  const zlibZstd = zlib as unknown as Partial<NodeZstd>
  if (zlibZstd.zstdCompress !== undefined && zlibZstd.zstdDecompress !== undefined) {
    const compress = promisify(zlibZstd.zstdCompress)
    const decompress = promisify(zlibZstd.zstdDecompress)
    const level = (zlib.constants as unknown as { ZSTD_c_compressionLevel: number }).ZSTD_c_compressionLevel
    const options = { params: { [level]: 3 } }
    found.push({ codec: 'zstd', name: 'node:zlib', compress: (data) => compress(data, options), decompress: (data) => decompress(data, {}) })
  }
  return found
}

function batchesOf(recordSize: number): Buffer[] {
  const perBatch = Math.floor(BATCH_BYTES / recordSize)
  const records = benchRecords(BATCHES * perBatch, recordSize)
  return Array.from({ length: BATCHES }, () => Buffer.concat(Array.from({ length: perBatch }, () => records.next().value!.value)))
}

/** Runs `work` on every input, `IN_FLIGHT` at a time; returns the outputs, the wall and the CPU milliseconds. */
async function timed(inputs: readonly Buffer[], work: (data: Buffer) => Promise<Buffer>): Promise<{ outputs: Buffer[]; wallMs: number; cpuMs: number }> {
  const outputs: Buffer[] = new Array(inputs.length)
  let next = 0
  const cpu = process.cpuUsage()
  const start = performance.now()
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < inputs.length) {
        const i = next++
        outputs[i] = await work(inputs[i]!)
      }
    }),
  )
  const wallMs = performance.now() - start
  const used = process.cpuUsage(cpu)
  return { outputs, wallMs, cpuMs: (used.user + used.system) / 1000 }
}

async function measureCodecs(sizes: readonly number[]): Promise<CodecImplementationResult[]> {
  const results: CodecImplementationResult[] = []
  for (const recordSize of sizes) {
    const batches = batchesOf(recordSize)
    const mb = (batches.length * batches[0]!.length) / 1e6
    for (const implementation of implementations()) {
      let best: CodecImplementationResult | undefined
      for (let pass = 0; pass < PASSES; pass++) {
        const compressed = await timed(batches, (data) => implementation.compress(data))
        const decompressed = await timed(compressed.outputs, (data) => implementation.decompress(data))
        if (!decompressed.outputs.every((out, i) => out.equals(batches[i]!))) throw new Error(`${implementation.name} did not give back what it compressed`)
        const result: CodecImplementationResult = {
          codec: implementation.codec,
          implementation: implementation.name,
          recordSize,
          compressMbPerSec: Math.round(mb / (compressed.wallMs / 1000)),
          compressCpuMsPerMb: Math.round((compressed.cpuMs / mb) * 100) / 100,
          decompressMbPerSec: Math.round(mb / (decompressed.wallMs / 1000)),
          decompressCpuMsPerMb: Math.round((decompressed.cpuMs / mb) * 100) / 100,
          ratio: Math.round((compressed.outputs.reduce((sum, b) => sum + b.length, 0) / (mb * 1e6)) * 1000) / 1000,
        }
        if (best === undefined || result.compressMbPerSec > best.compressMbPerSec) best = result
      }
      results.push(best!)
    }
  }
  return results
}

const sizes = (process.env.BENCH_SIZES ?? '100,1024').split(',').map(Number)
console.log(JSON.stringify({ node: process.versions.node, results: await measureCodecs(sizes) }))
