import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { logOptions } from './logging.js'
import { cacheDir, resolveKafka, type KafkaRuntime } from './resolve.js'

/** What a Kafka tool printed and how it exited. */
export interface ToolResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a main class from Kafka's jars and collects its output. */
export function runJava(runtime: KafkaRuntime, mainClass: string, args: readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const logging = logOptions(runtime, join(cacheDir(), runtime.logging === 'log4j2' ? 'log4j2-tools.properties' : 'log4j-tools.properties'), 'stderr')
    const child = spawn(runtime.javaBin, ['-Xmx512m', '-XX:TieredStopAtLevel=1', ...logging, '-cp', runtime.classpath, mainClass, ...args], {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, stdout, stderr })
    })
    if (options.input !== undefined) child.stdin!.end(options.input)
  })
}

/**
 * Runs one of Kafka's own tools from the same jars as the broker, e.g. `kafka.tools.DumpLogSegments` or
 * `org.apache.kafka.tools.ConsoleProducer`, with its logs at WARN on stderr.
 *
 * @example
 * const { stdout } = await runKafkaTool('kafka.tools.DumpLogSegments', ['--files', '/path/00000000000000000000.log'])
 */
export function runKafkaTool(mainClass: string, args: readonly string[], options: { version?: string; timeoutMs?: number; input?: string } = {}): Promise<ToolResult> {
  return runJava(resolveKafka({ version: options.version }), mainClass, args, options)
}
