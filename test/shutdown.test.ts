import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { brokers, createTopic, readTopic, uniqueTopic } from './support.js'

const CHILD = fileURLToPath(new URL('./fixtures/sigterm-producer.mjs', import.meta.url))

interface ChildReport {
  read: number
  delivered: number
  failed: number
  drained: boolean
  undelivered: number[]
}

/** Starts the producer child, SIGTERMs it once it is streaming, and returns its final report. */
function produceUntilSigterm(topic: string, closeTimeoutMs: number): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, brokers(), topic, String(closeTimeoutMs)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    const killer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    let signalled = false
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      if (stdout.includes('ready\n') && !signalled) {
        signalled = true
        child.kill('SIGTERM')
      }
    })
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('close', (code) => {
      clearTimeout(killer)
      const last = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop()
      if (code !== 143 || last === undefined) return reject(new Error(`child exited ${code} (expected 143, SIGTERM's status): ${stderr}${stdout}`))
      resolve(JSON.parse(last) as ChildReport)
    })
  })
}

describe('graceful shutdown on SIGTERM (real broker)', () => {
  it('every event the process read is in the topic or in its undelivered report; none twice', async () => {
    const topic = uniqueTopic('sigterm')
    await createTopic(topic, 3)
    const report = await produceUntilSigterm(topic, 15_000)
    const landed = (await readTopic(topic)).map((r) => (JSON.parse(r.value!) as { seq: number }).seq)
    expect(report.read).toBeGreaterThan(1000)
    expect(report.drained).toBe(true)
    expect(new Set(landed).size).toBe(landed.length)
    const accounted = new Set([...landed, ...report.undelivered])
    for (let seq = 0; seq < report.read; seq++) expect(accounted.has(seq)).toBe(true)
    // The ledger: read = delivered + undelivered, and the topic holds exactly the delivered.
    expect(report.delivered + report.undelivered.length).toBe(report.read)
    expect(landed).toHaveLength(report.delivered)
  })

  it('with a close deadline too short to drain, hands back what was not acknowledged; nothing is missing', async () => {
    const topic = uniqueTopic('sigterm-deadline')
    await createTopic(topic, 3)
    const report = await produceUntilSigterm(topic, 1)
    const landed = (await readTopic(topic)).map((r) => (JSON.parse(r.value!) as { seq: number }).seq)
    expect(report.drained).toBe(false)
    expect(report.undelivered.length).toBeGreaterThan(0)
    expect(new Set(landed).size).toBe(landed.length)
    const accounted = new Set([...landed, ...report.undelivered])
    for (let seq = 0; seq < report.read; seq++) expect(accounted.has(seq)).toBe(true)
    expect(report.delivered + report.undelivered.length).toBe(report.read)
    // Records in flight at the deadline are handed back although they may have landed: at least once.
    expect(landed.length).toBeGreaterThanOrEqual(report.delivered)
    expect(landed.length).toBeLessThanOrEqual(report.read)
  })
})
