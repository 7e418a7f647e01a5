/**
 * Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`): the hash of the Java client's default
 * partitioner. Returns the same signed 32-bit integer Java does, so keys land where Java would put them.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  const m = 0x5bd1e995
  let h = (0x9747b28c ^ length) | 0
  const whole = length & ~3
  for (let i = 0; i < whole; i += 4) {
    let k = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) | 0
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
  }
  switch (length & 3) {
    case 3:
      h ^= data[whole + 2]! << 16
    // falls through
    case 2:
      h ^= data[whole + 1]! << 8
    // falls through
    case 1:
      h ^= data[whole]!
      h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h | 0
}

/** Java's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which differs for negatives). */
export function toPositive(n: number): number {
  return n & 0x7fffffff
}

/** The partition Java's default partitioner picks for a key: `toPositive(murmur2(key)) % partitions`. */
export function partitionForKey(key: Uint8Array, partitionCount: number): number {
  return toPositive(murmur2(key)) % partitionCount
}
