/**
 * Contender "topicflow": the comparison's records through the full operator chain (pull source, serialize,
 * key, murmur2 partition, batch, compress, retry, KafkaSink) over topicflow's wire transport, acks=all with
 * idempotence. With BENCH_RATE set, events are offered at that many per second instead of as fast as the
 * sink takes them (the latency target): for one second first, not measured (see `paced`), then `count`
 * records.
 */
import { batch, compress, fromAsyncIterable, KafkaSink, key, partition, retry, serialize, toKafka } from '@topicflow/core'
import { benchTransport } from '../transport.js'
import { Observable } from 'rxjs'
import { jobFromEnv, RunRecorder } from '../job.js'
import { benchRecords, type BenchRecord } from './records.js'

const LINGER_MS = 5
const job = jobFromEnv()
const rate = process.env.BENCH_RATE === undefined ? undefined : Number(process.env.BENCH_RATE)
const transport = benchTransport(job.brokers, 'bench-topicflow')
const sink = new KafkaSink<BenchRecord>(transport, { acks: 'all' })
const recorder = new RunRecorder()
let failed = 0

/** Paced runs offer this long at the rate before measuring: JIT compilation of the whole path in this process. */
const WARM_UP_MS = 1000
/** Date.now() from which acknowledged records count (paced runs); 0 counts them all. */
let measureFrom = 0

/**
 * `count` records offered at `perSecond`, in 1 ms ticks, whatever the sink does, after `WARM_UP_MS` of the
 * same rate that is not measured; before that, the first record alone, and the clock started only once it
 * is acknowledged (`warm`). So connecting, the first metadata and the JIT's first compilations do not
 * count as latency (in the first second the p99 was 15-55 ms, after it 10-11 ms): this measures the steady
 * state.
 */
function paced(measured: number, perSecond: number, warm: Promise<void>): Observable<BenchRecord> {
  const count = measured + Math.round((perSecond * WARM_UP_MS) / 1000)
  return new Observable((subscriber) => {
    const records = benchRecords(count, job.recordSize)
    subscriber.next(records.next().value as BenchRecord)
    let sent = 1
    let timer: NodeJS.Timeout | undefined
    void warm.then(() => {
      const started = performance.now()
      measureFrom = Date.now() + WARM_UP_MS
      timer = setInterval(() => {
        const due = Math.min(count, 1 + Math.floor(((performance.now() - started) * perSecond) / 1000))
        for (; sent < due; sent++) subscriber.next({ ...(records.next().value as BenchRecord), madeAt: Date.now() })
        if (sent === count) {
          clearInterval(timer)
          subscriber.complete()
        }
      }, 1)
    })
    return () => clearInterval(timer)
  })
}

let warmedUp: () => void = () => undefined
const warm = new Promise<void>((resolve) => (warmedUp = resolve))
const source = rate === undefined ? fromAsyncIterable(benchRecords(job.count, job.recordSize), sink) : paced(job.count, rate, warm)
let reports = 0
await new Promise<void>((resolve, reject) =>
  source
    .pipe(
      serialize(job.topic, (record: BenchRecord) => record.value),
      key((record) => record.key),
      partition(sink),
      batch({ lingerMs: LINGER_MS, maxBytes: 64 * 1024 }),
      compress(job.codec),
      retry({ deliveryTimeoutMs: 120_000 }),
      toKafka(sink),
    )
    .subscribe({
      next(report) {
        reports++
        if (report.status === 'failed') failed++
        // A paced run's first record and first second only warm the producer up.
        else if (rate === undefined || (reports > 1 && measureFrom > 0 && report.source.madeAt >= measureFrom)) recorder.acked(report.source.madeAt)
        if (reports === 1) warmedUp()
      },
      error: reject,
      complete: resolve,
    }),
)
recorder.finish()
await transport.close()
if (failed > 0) throw new Error(`${failed} records failed`)
