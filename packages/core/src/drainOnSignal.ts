import { InvalidOptionError } from './errors.js'
import type { CloseResult, KafkaSink } from './operators/toKafka.js'

/** Options of `drainOnSignal`. */
export interface DrainOnSignalOptions {
  /** The signals that start the shutdown. Default `['SIGTERM', 'SIGINT']`. */
  readonly signals?: readonly NodeJS.Signals[]
  /** How long to wait for acknowledgements (`close({ timeoutMs })`). Default 30000. */
  readonly timeoutMs?: number
  /** Called first, with the signal: complete push sources here (pull sources stop by themselves). */
  readonly onSignal?: (signal: NodeJS.Signals) => void
  /** Called with what `close()` handed back: the events not acknowledged by the deadline, never dropped. */
  readonly onClosed?: (result: CloseResult, signal: NodeJS.Signals) => void
}

/**
 * On SIGTERM or SIGINT, closes `sink` gracefully: pull sources stop and complete, everything taken is
 * flushed and acknowledged up to `timeoutMs`, and `onClosed` receives the events that could not be
 * delivered. It listens once: a second signal gets Node's default (for SIGINT, exit), so a second Ctrl-C
 * still stops a stuck process. Returns a function that removes the listeners.
 *
 * @example
 * drainOnSignal(sink, { timeoutMs: 10_000, onClosed: ({ undelivered }) => writeFileSync('undelivered.json', JSON.stringify(undelivered)) })
 */
export function drainOnSignal(sink: Pick<KafkaSink<unknown>, 'close'>, options: DrainOnSignalOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT']
  if (!Array.isArray(signals) || signals.length === 0) throw new InvalidOptionError('drainOnSignal.signals', 'a non-empty array of signal names', signals)
  const dispose = (): void => {
    for (const signal of signals) process.removeListener(signal, onSignal)
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    dispose()
    options.onSignal?.(signal)
    void sink.close(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }).then((result) => options.onClosed?.(result, signal))
  }
  for (const signal of signals) process.once(signal, onSignal)
  return dispose
}
