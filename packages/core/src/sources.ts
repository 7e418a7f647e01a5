import { Observable } from 'rxjs'
import type { Readable } from 'node:stream'
import { InvalidOptionError } from './errors.js'
import type { KafkaSink } from './sink/kafkaSink.js'

/** Reads a pull source only while the sink has room, and stops when it asks; without a sink, reads as fast as it can. */
type RoomSignal = Pick<KafkaSink<unknown>, 'attachPullSource'>

// Reading in a tight loop would starve timers (linger) and sockets (acks): give them a turn this often.
const EVENTS_PER_TURN = 256

/**
 * An Observable that pulls from an (async) iterable, one event at a time, and only while `sink` has room,
 * so memory stays flat whatever the input size. When the sink closes, or a failed run asks it to stop (to
 * name every event the operators hold), it reads no more and completes; a read under way is awaited, never
 * dropped, so an iterable that can wait forever (an idle socket) should be ended by its owner on close.
 * Unsubscribing stops reading and calls the iterator's `return()` (closing generators, files and streams).
 *
 * @example
 * async function* orders() { for (let i = 0; i < 1e6; i++) yield { id: i } }
 * const sink = new KafkaSink(transport)
 * fromAsyncIterable(orders(), sink).pipe(serialize('orders', json()), partition(sink), batch(), toKafka(sink))
 */
export function fromAsyncIterable<T>(iterable: AsyncIterable<T> | Iterable<T>, sink?: RoomSignal): Observable<T> {
  const open = openIterator(iterable)
  return new Observable<T>((subscriber) => {
    const { iterator, synchronous } = open()
    const attached = sink?.attachPullSource()
    let stopped = false
    const pull = async (): Promise<void> => {
      try {
        for (let count = 1; !stopped; count++) {
          if (attached !== undefined && !attached.hasRoom()) await attached.whenRoom()
          else if (count % EVENTS_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve))
          if (stopped) return
          // A sink that asks for no more: complete, so that what the operators hold flushes to it.
          if (attached?.stopRequested === true) break
          // A synchronous iterator's step is not awaited: an await per event is a promise per event
          // (and, with an AsyncLocalStorage in use, its hooks), which cost as much as an operator.
          const step = synchronous ? (iterator as Iterator<T>).next() : await iterator.next()
          if (stopped) return
          if (step.done === true) break
          subscriber.next(step.value)
        }
        if (!stopped) subscriber.complete()
      } catch (error) {
        if (!stopped) subscriber.error(error)
      } finally {
        attached?.detach()
      }
    }
    void pull()
    return () => {
      stopped = true
      attached?.detach()
      void Promise.resolve(iterator.return?.()).catch(() => undefined)
    }
  })
}

/**
 * An Observable of a Node `Readable`'s chunks (objects in object mode), read only while `sink` has room:
 * the stream stays paused otherwise, so its own backpressure reaches the file, socket or process behind it.
 *
 * @example
 * import { createReadStream } from 'node:fs'
 * import { createInterface } from 'node:readline'
 * fromReadable(createReadStream('orders.ndjson').pipe(split()), sink)
 */
export function fromReadable<T = Buffer>(readable: Readable, sink?: RoomSignal): Observable<T> {
  if (readable === null || typeof readable !== 'object' || typeof (readable as Partial<Readable>)[Symbol.asyncIterator] !== 'function') {
    throw new InvalidOptionError('fromReadable.readable', 'a Node Readable stream', readable)
  }
  return fromAsyncIterable(readable as AsyncIterable<T>, sink)
}

function openIterator<T>(iterable: AsyncIterable<T> | Iterable<T>): () => { iterator: AsyncIterator<T> | Iterator<T>; synchronous: boolean } {
  if (iterable !== null && typeof iterable === 'object') {
    if (typeof (iterable as AsyncIterable<T>)[Symbol.asyncIterator] === 'function') return () => ({ iterator: (iterable as AsyncIterable<T>)[Symbol.asyncIterator](), synchronous: false })
    if (typeof (iterable as Iterable<T>)[Symbol.iterator] === 'function') return () => ({ iterator: (iterable as Iterable<T>)[Symbol.iterator](), synchronous: true })
  }
  throw new InvalidOptionError('fromAsyncIterable.iterable', 'an AsyncIterable or an Iterable', iterable)
}
