/** Memoizes a one-argument function of a string (topic names: few, long-lived). */
export function cached<V>(make: (key: string) => V): (key: string) => V {
  const values = new Map<string, V>()
  return (key) => {
    let value = values.get(key)
    if (value === undefined) {
      value = make(key)
      values.set(key, value)
    }
    return value
  }
}
