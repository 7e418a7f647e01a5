/**
 * The console-producer comparison: the same file of lines piped into `topicflow produce` and into Kafka's
 * own `org.apache.kafka.tools.ConsoleProducer` (from the broker's jars), same broker, same run, same
 * options (acks=1, no compression, every other setting at the console producer's defaults). Wall time of
 * the whole command, start-up included, as a user would see it.
 */
import { spawn } from 'node:child_process'
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { resolveKafka } from '@topicflow/testkit'

export interface ConsoleResult {
  readonly name: string
  readonly lines: number
  readonly seconds: number
  readonly recordsPerSec: number
  readonly mbPerSec: number
}

/** Writes `count` lines of about 100 bytes, each different. */
export async function writeLines(count: number): Promise<{ file: string; bytes: number; cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'topicflow-bench-lines-'))
  const file = join(dir, 'lines.txt')
  const out = createWriteStream(file)
  let bytes = 0
  for (let i = 0; i < count; i++) {
    const line = `event-${String(i).padStart(9, '0')} user=${(i * 7919) % 100_000} action=${['view', 'click', 'buy'][i % 3]} ${'x'.repeat(50)}\n`
    bytes += line.length
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())))
  return { file, bytes, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** The two commands, given the broker and topic; both read the lines on stdin. */
export function consoleCommands(bootstrap: string): Array<{ name: string; command: (topic: string) => [string, string[]] }> {
  const common = (topic: string): string[] => ['--bootstrap-server', bootstrap, '--topic', topic, '--request-required-acks', '1']
  const cli = fileURLToPath(new URL('../../packages/cli/bin/topicflow.js', import.meta.url))
  return [
    { name: 'topicflow produce', command: (topic) => [process.execPath, [cli, 'produce', ...common(topic)]] },
    {
      name: 'Java ConsoleProducer',
      command: (topic) => {
        const runtime = resolveKafka()
        return [runtime.javaBin, ['-cp', runtime.classpath, 'org.apache.kafka.tools.ConsoleProducer', ...common(topic)]]
      },
    },
  ]
}

/** Runs one command with `file` on stdin; resolves with its wall time in seconds. */
export function timeCommand(executable: string, args: string[], file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(executable, args, { stdio: ['pipe', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
    createReadStream(file).pipe(child.stdin)
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${executable} ${args.slice(0, 3).join(' ')}… exited with ${code}: ${stderr}`))
      resolve((performance.now() - started) / 1000)
    })
  })
}
