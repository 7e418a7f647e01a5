import type { SchedulerLike } from 'rxjs'
import { InvalidOptionError, RecordTooLargeError, withSources } from '../errors.js'
import { RECORD_BATCH_OVERHEAD_BYTES, recordSizeBytes, type OutgoingRecord, type RecordBatch } from '../records.js'

/** What the sink takes: batches from `batch()`, or single partitioned records. */
export type SinkInput<T> = RecordBatch<T> | OutgoingRecord<T>

/** The input as a batch: a single record becomes a batch of one, opened now. */
export function asBatch<T>(item: SinkInput<T>, scheduler: SchedulerLike): RecordBatch<T> {
  if (Array.isArray((item as RecordBatch<T>).records)) return item as RecordBatch<T>
  const record = item as OutgoingRecord<T>
  if (record.partition === undefined) {
    throw withSources(new InvalidOptionError('record.partition', 'a partition (put partition() before toKafka())', undefined), [record.source], { topic: record.topic })
  }
  return {
    topic: record.topic,
    partition: record.partition,
    records: [record],
    sizeBytes: recordSizeBytes(record) + RECORD_BATCH_OVERHEAD_BYTES,
    createdAt: scheduler.now(),
    codec: 'none',
    retry: undefined,
  }
}

/** Two batches of one partition as one; sizes add up whole, so releasing it frees exactly what the two reserved. */
export function merge<T>(first: RecordBatch<T>, second: RecordBatch<T>): RecordBatch<T> {
  return { ...first, records: first.records.concat(second.records), sizeBytes: first.sizeBytes + second.sizeBytes }
}

/** Records `start` to `end` of a batch, sized anew. */
export function slice<T>(whole: RecordBatch<T>, start: number, end: number): RecordBatch<T> {
  const records = whole.records.slice(start, end)
  return { ...whole, records, sizeBytes: records.reduce((n, r) => n + recordSizeBytes(r), RECORD_BATCH_OVERHEAD_BYTES) }
}

/** A batch's records that alone exceed `maxRequestBytes`, each as a batch of one with its error, and the rest as one batch. */
export function oversizedApart<T>(whole: RecordBatch<T>, maxRequestBytes: number): { kept: RecordBatch<T> | undefined; tooLarge: Array<{ batch: RecordBatch<T>; error: RecordTooLargeError }> } {
  // A batch within the limit has no record over it (its size is the sum of its records' sizes).
  if (whole.sizeBytes <= maxRequestBytes) return { kept: whole, tooLarge: [] }
  const tooLarge: Array<{ batch: RecordBatch<T>; error: RecordTooLargeError }> = []
  const kept: OutgoingRecord<T>[] = []
  for (const record of whole.records) {
    const size = recordSizeBytes(record) + RECORD_BATCH_OVERHEAD_BYTES
    if (size <= maxRequestBytes) kept.push(record)
    else tooLarge.push({ batch: { ...whole, records: [record], sizeBytes: size }, error: new RecordTooLargeError(size, maxRequestBytes, { topic: whole.topic, partition: whole.partition, sources: [record.source] }) })
  }
  if (tooLarge.length === 0) return { kept: whole, tooLarge }
  return { kept: kept.length === 0 ? undefined : { ...whole, records: kept, sizeBytes: kept.reduce((n, r) => n + recordSizeBytes(r), RECORD_BATCH_OVERHEAD_BYTES) }, tooLarge }
}
