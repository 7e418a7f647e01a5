/**
 * The contract between the reading sections (consumption, ETL) and their contenders, each in a child process
 * of its own: the job comes in through the environment, one JSON line of results goes out on stdout (as
 * `../job.ts` does for the producers).
 */

/** What a reading contender is asked to do: read `count` records of `topic` from the beginning in group `groupId` (and, for ETL, write them to `outputTopic`). */
export interface ReadJob {
  readonly brokers: string[]
  readonly topic: string
  readonly count: number
  /** A fresh group per run: nothing committed, so every contender starts at the beginning. */
  readonly groupId: string
  /** ETL only: where the enriched records go. */
  readonly outputTopic?: string
}

/** What a reading contender measured. */
export interface ReadResult {
  readonly records: number
  /** From the first record read to the last (ETL: to the last output acknowledged). */
  readonly seconds: number
  /** CPU time of the whole child process (connecting and joining the group included). */
  readonly cpuSeconds: number
  readonly peakRssMb: number
}

export function readJobToEnv(job: ReadJob): Record<string, string> {
  return {
    BENCH_BROKERS: job.brokers.join(','),
    BENCH_TOPIC: job.topic,
    BENCH_COUNT: String(job.count),
    BENCH_GROUP: job.groupId,
    ...(job.outputTopic === undefined ? {} : { BENCH_OUTPUT_TOPIC: job.outputTopic }),
  }
}

export function readJobFromEnv(env: NodeJS.ProcessEnv = process.env): ReadJob {
  const { BENCH_BROKERS, BENCH_TOPIC, BENCH_COUNT, BENCH_GROUP, BENCH_OUTPUT_TOPIC } = env
  if (!BENCH_BROKERS || !BENCH_TOPIC || !BENCH_COUNT || !BENCH_GROUP) throw new Error('a reading contender runs from the benchmark: BENCH_BROKERS, BENCH_TOPIC, BENCH_COUNT and BENCH_GROUP must be set')
  return { brokers: BENCH_BROKERS.split(','), topic: BENCH_TOPIC, count: Number(BENCH_COUNT), groupId: BENCH_GROUP, ...(BENCH_OUTPUT_TOPIC === undefined ? {} : { outputTopic: BENCH_OUTPUT_TOPIC }) }
}

/**
 * Counts records as a contender sees them: the clock starts at the first (so connecting and joining the
 * group do not count) and stops when `count` are in.
 */
export class ReadRecorder {
  #records = 0
  #first: number | undefined
  #last: number | undefined

  constructor(readonly count: number) {}

  get records(): number {
    return this.#records
  }

  /** The clock's start, when the first record arrives (before it is counted: an ETL contender starts it on input, counts output). */
  start(): void {
    this.#first ??= performance.now()
  }

  /** `n` more records; true once `count` are in (the first time and every time after). */
  seen(n: number): boolean {
    this.start()
    this.#records += n
    if (this.#records >= this.count) {
      this.#last ??= performance.now()
      return true
    }
    return false
  }

  /** Prints the result line and returns it. */
  finish(): ReadResult {
    const cpu = process.cpuUsage()
    const result: ReadResult = {
      records: this.#records,
      seconds: ((this.#last ?? performance.now()) - (this.#first ?? performance.now())) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      // maxRSS is in kilobytes.
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    }
    console.log(JSON.stringify(result))
    return result
  }
}
