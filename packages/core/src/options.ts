import { InvalidOptionError } from './errors.js'

/** Validation of operator options: each check throws `InvalidOptionError` naming the option. */

export function integerOption(name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `an integer from ${min} to ${max}`, value)
  }
  return value
}

/** Like `integerOption`, but `Infinity` is allowed and means "no limit". */
export function limitOption(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === Number.POSITIVE_INFINITY) return value
  return integerOption(name, value, fallback, min)
}

export function oneOfOption<V>(name: string, value: V | undefined, fallback: V, allowed: readonly V[]): V {
  if (value === undefined) return fallback
  if (!allowed.includes(value)) throw new InvalidOptionError(name, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value)
  return value
}

export function functionOption<F>(name: string, value: unknown): F {
  if (typeof value !== 'function') throw new InvalidOptionError(name, 'a function', value)
  return value as F
}
