/**
 * The contract between the benchmark and each contender, which runs in a child process of its own so that
 * its CPU time and peak RSS are its own: the job comes in through the environment, one JSON line of
 * results goes out on stdout.
 */
import type { Codec } from '@topicflow/core'
import { TurnClock } from '@topicflow/core/internal'

/** What a contender is asked to produce. */
export interface BenchJob {
  readonly brokers: string[]
  readonly topic: string
  readonly count: number
  readonly codec: Codec
  /** Value size in bytes, for the comparison's records (the demo pipeline's orders have their own). */
  readonly recordSize: number
}

/** What a contender measured. */
export interface RunResult {
  readonly records: number
  readonly seconds: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly cpuSeconds: number
  readonly peakRssMb: number
}

export function jobToEnv(job: BenchJob): Record<string, string> {
  return { BENCH_BROKERS: job.brokers.join(','), BENCH_TOPIC: job.topic, BENCH_COUNT: String(job.count), BENCH_CODEC: job.codec, BENCH_RECORD_SIZE: String(job.recordSize) }
}

export function jobFromEnv(env: NodeJS.ProcessEnv = process.env): BenchJob {
  const { BENCH_BROKERS, BENCH_TOPIC, BENCH_COUNT, BENCH_CODEC, BENCH_RECORD_SIZE = '100' } = env
  if (!BENCH_BROKERS || !BENCH_TOPIC || !BENCH_COUNT || !BENCH_CODEC) throw new Error('a contender runs from the benchmark: BENCH_BROKERS, BENCH_TOPIC, BENCH_COUNT and BENCH_CODEC must be set')
  return { brokers: BENCH_BROKERS.split(','), topic: BENCH_TOPIC, count: Number(BENCH_COUNT), codec: BENCH_CODEC as Codec, recordSize: Number(BENCH_RECORD_SIZE) }
}

/** Latencies kept for the quantiles: a uniform sample of this many, so memory does not grow with the count. */
const LATENCY_SAMPLE = 100_000

/**
 * Collects one contender's figures: per-record ack latency (from the moment the record was made), sampled
 * uniformly (reservoir sampling) so that the recorder's own memory does not grow with the record count and
 * distort peak RSS; and at the end wall time, CPU time and peak RSS of this process.
 */
export class RunRecorder {
  readonly #latencies = new Float64Array(LATENCY_SAMPLE)
  readonly #started = performance.now()
  readonly #cpuAtStart = process.cpuUsage()
  #records = 0

  /** Reads the clock for `acked`: once for the reports of one batch, which come in one turn. */
  readonly #clock = new TurnClock()

  /** One record acknowledged: `madeAt` is the Date.now() at which the record was made. */
  acked(madeAt: number, now = this.#clock.now()): void {
    const latency = now - madeAt
    if (this.#records < LATENCY_SAMPLE) this.#latencies[this.#records] = latency
    else {
      const slot = Math.floor(Math.random() * (this.#records + 1))
      if (slot < LATENCY_SAMPLE) this.#latencies[slot] = latency
    }
    this.#records++
  }

  /** Prints the result line and returns it. */
  finish(): RunResult {
    const seconds = (performance.now() - this.#started) / 1000
    const cpu = process.cpuUsage(this.#cpuAtStart)
    const sorted = this.#latencies.subarray(0, Math.min(this.#records, LATENCY_SAMPLE)).sort()
    const quantile = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
    const result: RunResult = {
      records: this.#records,
      seconds,
      p50Ms: quantile(0.5),
      p99Ms: quantile(0.99),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      // maxRSS is in kilobytes.
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    }
    console.log(JSON.stringify(result))
    return result
  }
}
