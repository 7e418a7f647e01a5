/**
 * librdkafka with no Node binding in between: Debian's `kcat` producing the comparison's records from a
 * file (`-P -l`), with the same settings as the others through `-X` (acks=all, idempotence, linger 5 ms,
 * 64 KiB batches, the codec, Java's murmur2 partitioner for keyed records), under GNU time for its CPU
 * seconds and peak RSS. The file is written before the clock starts; records/s is the whole command's wall
 * time, connecting included. kcat reports no per-record latency, so its p50 and p99 are left empty.
 */
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Codec } from '@topicflow/core'
import { GNU_TIME, gnuTimeArgs, readGnuTimeUsage } from '../gnuTime.js'
import type { RunResult } from '../job.js'
import { benchRecords } from './records.js'

/**
 * Delimiters for kcat's input (its `\xNN` notation, and the bytes they stand for): long enough that the
 * comparison's values (half random bytes) never hold them; `writeInput` checks that they do not.
 */
const KEY_DELIMITER = { kcat: '\\xfe\\x01\\xfd\\x02\\xfc\\x03\\xfb\\x04', bytes: Buffer.from([0xfe, 0x01, 0xfd, 0x02, 0xfc, 0x03, 0xfb, 0x04]) }
const MESSAGE_DELIMITER = { kcat: '\\xfa\\x05\\xf9\\x06\\xf8\\x07\\xf7\\x08', bytes: Buffer.from([0xfa, 0x05, 0xf9, 0x06, 0xf8, 0x07, 0xf7, 0x08]) }

/** "1.7.1 (librdkafka 2.0.2)", from `kcat -V`; undefined when kcat is not installed. */
export function kcatVersion(): string | undefined {
  const output = spawnSync('kcat', ['-V'], { encoding: 'utf8' })
  if (output.status !== 0) return undefined
  const version = /Version (\S+)/.exec(output.stdout)?.[1]
  const librdkafka = /librdkafka (\S+)/.exec(output.stdout)?.[1]
  return `${version ?? '?'} (librdkafka ${librdkafka ?? '?'})`
}

/** The comparison's records as kcat reads them: key, key delimiter, value, message delimiter. */
function writeInput(file: string, records: number, recordSize: number): void {
  const fd = openSync(file, 'w')
  try {
    let chunk: Buffer[] = []
    let bytes = 0
    for (const record of benchRecords(records, recordSize)) {
      if (record.value.includes(KEY_DELIMITER.bytes) || record.value.includes(MESSAGE_DELIMITER.bytes)) throw new Error('a bench value holds one of kcat\'s delimiters')
      chunk.push(Buffer.from(record.key), KEY_DELIMITER.bytes, record.value, MESSAGE_DELIMITER.bytes)
      bytes += record.key.length + recordSize + 16
      if (bytes >= 1 << 22) {
        writeSync(fd, Buffer.concat(chunk))
        chunk = []
        bytes = 0
      }
    }
    if (chunk.length > 0) writeSync(fd, Buffer.concat(chunk))
  } finally {
    closeSync(fd)
  }
}

export function runKcat(brokers: readonly string[], topic: string, records: number, recordSize: number, codec: Codec, timeoutMs: number): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'topicflow-bench-kcat-'))
  const input = join(dir, 'records')
  const usage = join(dir, 'usage')
  writeInput(input, records, recordSize)
  const args = [
    ...gnuTimeArgs(usage),
    'kcat', '-P', '-b', brokers.join(','), '-t', topic, '-K', KEY_DELIMITER.kcat, '-D', MESSAGE_DELIMITER.kcat, '-l', input,
    '-X', 'acks=all', '-X', 'enable.idempotence=true', '-X', 'linger.ms=5', '-X', 'batch.size=65536', '-X', `compression.codec=${codec}`,
    '-X', 'partitioner=murmur2_random',
  ]
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(GNU_TIME, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000
      clearTimeout(timer)
      try {
        // kcat prints "% Delivery failed …" for a record it could not deliver, and exits non-zero at the end.
        if (code !== 0 || /Delivery failed|ERROR/.test(stderr)) return reject(new Error(`kcat exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`))
        resolve({ records, seconds, p50Ms: Number.NaN, p99Ms: Number.NaN, ...readGnuTimeUsage(usage) })
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}
