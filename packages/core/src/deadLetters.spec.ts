import { describe, expect, it } from 'vitest'
import { firstValueFrom, from, toArray } from 'rxjs'
import { deadLetterQueue, DEAD_LETTER_HEADERS } from './deadLetters.js'
import { serialize } from './operators/serialize.js'
import { partition } from './operators/partition.js'
import { batch } from './operators/batch.js'
import { toKafka } from './operators/toKafka.js'
import { json } from './serializers.js'
import { MemoryTransport } from './testing/memoryTransport.js'
import { InvalidOptionError, ProduceError } from './errors.js'
import { lastHeader } from './records.js'

const poisoned = (transport: MemoryTransport) =>
  new MemoryTransport({
    ...transport.options,
    beforeSend: (request) => {
      if (request.topic === 't' && request.records.some((r) => r.value?.toString().includes('poison'))) throw new ProduceError('corrupt', 'CORRUPT_MESSAGE', { retriable: false })
    },
  })

describe('deadLetterQueue', () => {
  it('turns failed reports into dead-lettered ones and writes the original bytes with error headers', async () => {
    const transport = poisoned(new MemoryTransport({ topics: { t: 3, dlq: 1 } }))
    const dlq = deadLetterQueue<string>(transport, { topic: 'dlq' })
    // One partition each: a broker refuses a whole request, so batch-mates of a poison record fail with it.
    const byName = partition<string>(transport, { partitioner: (r) => ['ok', 'poison', 'fine'].indexOf(r.source as string) })
    const reports = await firstValueFrom(
      from(['ok', 'poison', 'fine']).pipe(serialize('t', json<string>()), byName, batch({ lingerMs: 0, maxRecords: 1 }), toKafka(transport, { onError: 'report' }), dlq.reports(), toArray()),
    )
    await dlq.close()
    expect(reports.map((r) => `${r.source}:${r.status}`).sort()).toEqual(['fine:delivered', 'ok:delivered', 'poison:dead-lettered'])
    const [letter] = transport.records('dlq', 0)
    expect(letter!.value!.toString()).toBe('"poison"')
    expect(lastHeader(letter!.headers, DEAD_LETTER_HEADERS.stage)).toBe('send')
    expect(lastHeader(letter!.headers, DEAD_LETTER_HEADERS.exceptionClass)).toBe('ProduceError')
  })

  it('appends the error headers after the original ones, which keep their order and repeats (Kafka Connect style)', async () => {
    const transport = poisoned(new MemoryTransport({ topics: { t: 1, dlq: 1 } }))
    const dlq = deadLetterQueue<string>(transport, { topic: 'dlq' })
    const original = [['dup', 'x'], ['42', 'y'], ['dup', 'z'], [DEAD_LETTER_HEADERS.stage, 'earlier']] as const
    await firstValueFrom(
      from(['poison']).pipe(serialize('t', json<string>(), { headers: original }), partition(transport), batch({ lingerMs: 0 }), toKafka(transport, { onError: 'report' }), dlq.reports(), toArray()),
    )
    await dlq.close()
    const [letter] = transport.records('dlq', 0)
    const names = letter!.headers.map(([name]) => name)
    expect(letter!.headers.slice(0, original.length)).toEqual(original)
    expect(names.slice(original.length)).toEqual([
      DEAD_LETTER_HEADERS.topic,
      DEAD_LETTER_HEADERS.partition,
      DEAD_LETTER_HEADERS.stage,
      DEAD_LETTER_HEADERS.exceptionClass,
      DEAD_LETTER_HEADERS.exceptionMessage,
      DEAD_LETTER_HEADERS.timestamp,
    ])
    expect(letter!.headers.slice(original.length, original.length + 3)).toEqual([
      [DEAD_LETTER_HEADERS.topic, 't'],
      [DEAD_LETTER_HEADERS.partition, '0'],
      [DEAD_LETTER_HEADERS.stage, 'send'],
    ])
    // The name the original carried too repeats; the error's comes last.
    expect(lastHeader(letter!.headers, DEAD_LETTER_HEADERS.stage)).toBe('send')
  })

  it('writes a record that could not be serialized with the error headers alone', async () => {
    const transport = new MemoryTransport({ topics: { t: 1, dlq: 1 } })
    const dlq = deadLetterQueue<unknown>(transport, { topic: 'dlq' })
    await firstValueFrom(from([10n]).pipe(serialize('t', json<unknown>(), { headers: [['h', 'v']], onError: dlq.serializationError }), toArray()))
    await dlq.close()
    const [letter] = transport.records('dlq', 0)
    expect(letter!.headers.map(([name]) => name)).toEqual([
      DEAD_LETTER_HEADERS.topic,
      DEAD_LETTER_HEADERS.stage,
      DEAD_LETTER_HEADERS.exceptionClass,
      DEAD_LETTER_HEADERS.exceptionMessage,
      DEAD_LETTER_HEADERS.timestamp,
    ])
    expect(lastHeader(letter!.headers, DEAD_LETTER_HEADERS.stage)).toBe('serialize')
  })

  it('when the dead-letter topic cannot be written, the records stay failed and nothing hangs', async () => {
    const transport = poisoned(new MemoryTransport({ topics: { t: 1 } }))
    const dlq = deadLetterQueue<string>(transport, { topic: 'missing-dlq' })
    const reports = await firstValueFrom(
      from(['poison', 'ok']).pipe(serialize('t', json<string>()), partition(transport), batch({ lingerMs: 0, maxRecords: 1 }), toKafka(transport, { onError: 'report' }), dlq.reports(), toArray()),
    )
    await dlq.close()
    expect(reports.map((r) => `${r.source}:${r.status}`).sort()).toEqual(['ok:delivered', 'poison:failed'])
    expect(dlq.stats).toEqual({ deadLettered: 0, failed: 1 })
    expect(() => deadLetterQueue(transport, { topic: 'bad topic' })).toThrow(InvalidOptionError)
  })
})
