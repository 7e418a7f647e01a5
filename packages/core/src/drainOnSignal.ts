import { constants } from 'node:os'
import { InvalidOptionError } from './errors.js'
import type { CloseResult, KafkaSink } from './sink/kafkaSink.js'

/** Options of `drainOnSignal`. */
export interface DrainOnSignalOptions {
  /** The signals that start the shutdown. Default `['SIGTERM', 'SIGINT']`. */
  readonly signals?: readonly NodeJS.Signals[]
  /** How long to wait for acknowledgements (`close({ timeoutMs })`). Default 30000. */
  readonly timeoutMs?: number
  /** Called first, with the signal: complete push sources here, end a read that may wait forever (pull sources stop by themselves). */
  readonly onSignal?: (signal: NodeJS.Signals) => void
  /** Called with what `close()` handed back: the events not acknowledged by the deadline, never dropped. Awaited before the exit. */
  readonly onClosed?: (result: CloseResult, signal: NodeJS.Signals) => void | Promise<void>
  /** A second signal during the drain: called with it (print what is known now), then the process exits at once. */
  readonly onSecondSignal?: (signal: NodeJS.Signals) => void
  /**
   * Once drained (and `onClosed` is done), exit with the signal's status, 128 + its number (143 for
   * SIGTERM, 130 for SIGINT), as a process the signal ended would, and as Java's does after its shutdown
   * hooks; `false` leaves the process to the caller. Default true.
   */
  readonly exit?: boolean
}

/** The exit status of a process ended by `signal`: 128 + its number, as shells and Java report it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0)
}

/**
 * On SIGTERM or SIGINT, closes `sink` gracefully: pull sources stop and complete, everything taken is
 * flushed and acknowledged up to `timeoutMs`, `onClosed` receives the events that could not be delivered,
 * and the process exits with the signal's status. A second signal during the drain calls
 * `onSecondSignal` and exits at once (with the same status), so a stuck drain can still be stopped.
 * Returns a function that removes the listeners.
 *
 * @example
 * drainOnSignal(sink, { timeoutMs: 10_000, onClosed: ({ undelivered }) => writeFileSync('undelivered.json', JSON.stringify(undelivered)) })
 */
export function drainOnSignal(sink: Pick<KafkaSink<unknown>, 'close'>, options: DrainOnSignalOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT']
  if (!Array.isArray(signals) || signals.length === 0) throw new InvalidOptionError('drainOnSignal.signals', 'a non-empty array of signal names', signals)
  const exit = options.exit ?? true
  if (typeof exit !== 'boolean') throw new InvalidOptionError('drainOnSignal.exit', 'a boolean', exit)
  let first: NodeJS.Signals | undefined
  const dispose = (): void => {
    for (const signal of signals) process.removeListener(signal, onSignal)
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    if (first !== undefined) {
      dispose()
      options.onSecondSignal?.(signal)
      process.exit(signalExitCode(first))
    }
    first = signal
    options.onSignal?.(signal)
    void sink
      .close(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs })
      .then((result) => options.onClosed?.(result, signal))
      .finally(() => {
        dispose()
        if (exit) process.exit(signalExitCode(signal))
      })
  }
  for (const signal of signals) process.on(signal, onSignal)
  return dispose
}
