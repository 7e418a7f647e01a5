/**
 * Records wait inside `partition()` while a topic's first metadata is fetched, and RxJS has no way to tell
 * the source to stop. A pull source must not read on during that wait (it could read a whole file into
 * memory), so `partition()` registers each lookup here, keyed by the metadata object it asked, and the
 * `KafkaSink` that uses the same transport reports no room until the lookups have settled.
 */
const pendingLookups = new WeakMap<object, Set<Promise<unknown>>>()

/** Registers `lookup` as pending on `metadata` until it settles; returns it unchanged. */
export function trackMetadataLookup<T>(metadata: object, lookup: Promise<T>): Promise<T> {
  let pending = pendingLookups.get(metadata)
  if (pending === undefined) {
    pending = new Set()
    pendingLookups.set(metadata, pending)
  }
  const settled = lookup.then(
    () => undefined,
    () => undefined,
  )
  pending.add(settled)
  void settled.then(() => pending.delete(settled))
  return lookup
}

/** A promise of the lookups pending on `metadata` settling, or undefined when none is pending. */
export function metadataLookupsSettled(metadata: object): Promise<void> | undefined {
  const pending = pendingLookups.get(metadata)
  if (pending === undefined || pending.size === 0) return undefined
  return Promise.all(pending).then(() => undefined)
}
