import { execFile, spawn } from 'node:child_process'
import { createReadStream, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { brokers, createTopic, uniqueTopic } from './support.js'

// `topicflow produce` stopped by SIGTERM, as Kafka's console producer is: it stops reading, delivers what
// it read, prints the summary and exits 143. The read count is the process's own (its summary).
const BIN = fileURLToPath(new URL('../packages/cli/bin/topicflow.js', import.meta.url))
// More lines than the CLI reads before the latest signal: on Node 26 it read a million lines in 1.1 s, so a
// signal at 1.7 s could come after the end of a million-line input.
const LINES = 4_000_000
let dir: string
let input: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'topicflow-signals-'))
  input = join(dir, 'lines.txt')
  const lines: string[] = []
  for (let i = 1; i <= LINES; i++) lines.push(`line-${i}`)
  writeFileSync(input, `${lines.join('\n')}\n`)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Stopped {
  code: number | null
  stderr: string
  read: number
  delivered: number
  failed: number
  handedBack: number
}

/** Runs the CLI on the file (as stdin, or piped in), sends SIGTERM after `afterMs` (and a second one after `secondAfterMs`). */
function produceUntilSignal(topic: string, stdin: 'file' | 'pipe', afterMs: number, extra: readonly string[] = [], secondAfterMs?: number): Promise<Stopped> {
  return new Promise((resolve, reject) => {
    const fd = stdin === 'file' ? openSync(input, 'r') : undefined
    const child = spawn(process.execPath, [BIN, 'produce', '--bootstrap-server', brokers(), '--topic', topic, ...extra], {
      stdio: [fd ?? 'pipe', 'ignore', 'pipe'],
    })
    if (fd !== undefined) closeSync(fd)
    else {
      child.stdin!.on('error', () => undefined)
      createReadStream(input).pipe(child.stdin!).on('error', () => undefined)
    }
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const term = setTimeout(() => child.kill('SIGTERM'), afterMs)
    const second = secondAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGTERM'), afterMs + secondAfterMs)
    const killer = setTimeout(() => child.kill('SIGKILL'), 100_000)
    child.on('error', reject)
    child.on('close', (code) => {
      for (const timer of [term, second, killer]) clearTimeout(timer)
      const summary = /(\d+) lines read, (\d+) delivered, (\d+) failed, \d+ skipped, (\d+) handed back/.exec(stderr)
      if (summary === null) return reject(new Error(`no summary (exit ${code}): ${stderr}`))
      resolve({ code, stderr, read: Number(summary[1]), delivered: Number(summary[2]), failed: Number(summary[3]), handedBack: Number(summary[4]) })
    })
  })
}

/** The line numbers in the topic, read with kcat. */
function landedLines(topic: string): Promise<number[]> {
  return new Promise((resolve, reject) =>
    execFile('kcat', ['-b', brokers(), '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%s\\n'], { maxBuffer: 1 << 30, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`kcat: ${stderr || error.message}`))
      resolve(stdout.split('\n').filter(Boolean).map((line) => Number(line.slice('line-'.length))))
    }),
  )
}

describe('topicflow produce on SIGTERM (real broker)', () => {
  const runs = (['file', 'pipe'] as const).flatMap((stdin) => [1, 2, 3, 4, 5].map((run) => ({ stdin, run })))
  it.each(runs)('stdin from a $stdin, run $run: every line read is in the topic or handed back; exit 143', async ({ stdin }) => {
    const topic = uniqueTopic(`sigterm-cli-${stdin}`)
    await createTopic(topic, 3)
    // A random moment after the process has started streaming (Node starts in ~0.3 s here).
    const stopped = await produceUntilSignal(topic, stdin, 500 + Math.floor(Math.random() * 1200))
    expect(stopped.code, stopped.stderr).toBe(143)
    expect(stopped.stderr).toContain('(stopped by SIGTERM)')
    expect(stopped.read).toBeGreaterThan(0)
    expect(stopped.read, 'the signal came after the whole input was read').toBeLessThan(LINES)
    expect(stopped.failed).toBe(0)
    expect(stopped.delivered + stopped.handedBack).toBe(stopped.read)
    const landed = await landedLines(topic)
    expect(new Set(landed).size, 'a line landed twice').toBe(landed.length)
    // Lines are read in order: what was read is lines 1..read, and nothing beyond it was sent.
    expect(landed.reduce((max, n) => Math.max(max, n), 0)).toBeLessThanOrEqual(stopped.read)
    expect(landed.length).toBeGreaterThanOrEqual(stopped.delivered)
    // With Java's close() default (wait for every acknowledgement) nothing is handed back: all of it landed.
    expect(stopped.handedBack).toBe(0)
    expect(landed.length).toBe(stopped.read)
  })

  it('a second signal exits at once, still printing the counts', async () => {
    // The topic does not exist (the suite's broker creates none): the lines read wait for its metadata,
    // so the drain that the first SIGTERM starts cannot end before the second one.
    const topic = uniqueTopic('sigterm-twice')
    const started = Date.now()
    // The CLI first probes the topic for up to --request-timeout-ms (1.5 s) before it reads.
    const stopped = await produceUntilSignal(topic, 'pipe', 3500, ['--max-block-ms', '60000'], 1000)
    expect(stopped.code, stopped.stderr).toBe(143)
    expect(Date.now() - started).toBeLessThan(30_000)
    expect(stopped.stderr).toContain('(interrupted by a second signal)')
    expect(stopped.read).toBeGreaterThan(0)
    expect(stopped.delivered).toBe(0)
    expect(stopped.stderr).toContain(`${stopped.read} in flight (not acknowledged)`)
  })
})
