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
    expect(letter!.headers[DEAD_LETTER_HEADERS.stage]).toBe('send')
    expect(letter!.headers[DEAD_LETTER_HEADERS.exceptionClass]).toBe('ProduceError')
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
