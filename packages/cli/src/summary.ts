import type { Writable } from 'node:stream'

/** What a run did, as the summary line says it: read == delivered + failed + skipped + handedBack once it ends. */
export interface ProduceSummary {
  /** Lines taken from stdin into the pipeline, skipped ones included. */
  read: number
  delivered: number
  failed: number
  skipped: number
  /** Lines a signal's drain could not see acknowledged by its deadline (in flight, they may have landed). */
  handedBack: number
  /** The first failure, with its line number when it concerns a line. */
  firstError: string | undefined
}

/** Lines read and not yet settled: neither delivered, failed, skipped nor handed back. */
export function inFlightLines(summary: ProduceSummary): number {
  return summary.read - summary.delivered - summary.failed - summary.skipped - summary.handedBack
}

/** The summary on stderr; lines neither delivered, failed, skipped nor handed back are still in flight. */
export function writeSummary(stderr: Writable, summary: ProduceSummary, startedAt: number, how: string): void {
  const seconds = (Date.now() - startedAt) / 1000
  const inFlight = inFlightLines(summary)
  stderr.write(
    `topicflow produce: ${summary.read} lines read, ${summary.delivered} delivered, ${summary.failed} failed, ${summary.skipped} skipped, ` +
      `${summary.handedBack} handed back${inFlight > 0 ? `, ${inFlight} in flight (not acknowledged)` : ''} in ${seconds.toFixed(1)} s` +
      ` (${Math.round(summary.delivered / Math.max(seconds, 0.001))} records/s)${how}\n`,
  )
  if (summary.handedBack > 0) stderr.write(`topicflow produce: ${summary.handedBack} handed back: not acknowledged within --close-timeout-ms (they may have landed)\n`)
  if (summary.firstError !== undefined) stderr.write(`topicflow produce: ${summary.failed} failed; first error: ${summary.firstError}\n`)
}

/** A live line on a terminal's stderr: records/s, in flight, delivered. */
export function startStatusLine(stderr: Writable, summary: ProduceSummary, startedAt: number): { stop(): void } {
  const draw = (): void => {
    const seconds = Math.max((Date.now() - startedAt) / 1000, 0.001)
    const inFlight = inFlightLines(summary)
    stderr.write(`\r\x1b[K${Math.round(summary.delivered / seconds)} records/s, ${inFlight} in flight, ${summary.delivered} delivered, ${summary.failed} failed`)
  }
  const timer = setInterval(draw, 250)
  return {
    stop() {
      clearInterval(timer)
      draw()
      stderr.write('\n')
    },
  }
}
