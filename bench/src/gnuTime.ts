/**
 * GNU time (`/usr/bin/time`, Debian package `time`) around a contender that is not a Node process (Java's
 * ProducerPerformance, kcat): its CPU seconds and peak RSS, which the Node contenders measure themselves.
 */
import { existsSync, readFileSync } from 'node:fs'

export const GNU_TIME = '/usr/bin/time'

/** Whether GNU time is installed; the contenders that need it are refused with the reason when not. */
export function hasGnuTime(): boolean {
  return existsSync(GNU_TIME)
}

/** GNU time's arguments before the command: user and system CPU seconds and peak RSS, into `usageFile`. */
export function gnuTimeArgs(usageFile: string): string[] {
  return ['-o', usageFile, '-f', '%U %S %M']
}

/** What GNU time wrote into `usageFile` (`gnuTimeArgs`). */
export function readGnuTimeUsage(usageFile: string): { cpuSeconds: number; peakRssMb: number } {
  const [user, system, maxRssKb] = readFileSync(usageFile, 'utf8').trim().split(/\s+/).map(Number) as [number, number, number]
  return { cpuSeconds: user + system, peakRssMb: maxRssKb / 1024 }
}
