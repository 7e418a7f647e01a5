import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { murmur2, partitionForKey, toPositive } from './murmur2.js'

interface Vector {
  keyHex: string
  murmur2: number
  positive: number
  partitions: Record<string, number>
}
// Computed by Kafka's Java client (see __fixtures__/Murmur2Vectors.java for how to regenerate).
const fixture = JSON.parse(readFileSync(new URL('./__fixtures__/murmur2-java.json', import.meta.url), 'utf8')) as { generatedBy: string; vectors: Vector[] }

describe('murmur2', () => {
  it(`matches ${fixture.generatedBy} on ${fixture.vectors.length} keys`, () => {
    expect(fixture.vectors.length).toBeGreaterThan(150)
    expect(fixture.vectors.some((v) => v.murmur2 < 0)).toBe(true)
    for (const vector of fixture.vectors) {
      const key = Buffer.from(vector.keyHex, 'hex')
      expect(murmur2(key), vector.keyHex).toBe(vector.murmur2)
      expect(toPositive(murmur2(key))).toBe(vector.positive)
      for (const [count, expected] of Object.entries(vector.partitions)) {
        expect(partitionForKey(key, Number(count)), `${vector.keyHex} % ${count}`).toBe(expected)
      }
    }
  })

  it('covers every tail length (0-3 bytes past a 4-byte block)', () => {
    const tails = new Set(fixture.vectors.map((v) => (v.keyHex.length / 2) % 4))
    expect(tails).toEqual(new Set([0, 1, 2, 3]))
  })
})
