/**
 * The TypeScript type of the values an Avro schema describes, inferred from a schema written `as const`:
 * records become objects, enums unions of their symbols, arrays and maps their element types, unions the
 * union of their branches, `null` null; int, long, float and double are numbers (avsc reads longs as
 * numbers), bytes and fixed are Buffers. A named type referred to by name elsewhere in the schema is
 * `unknown` (its definition is not in scope of the reference).
 *
 * @example
 * const ORDER = { type: 'record', name: 'Order', fields: [{ name: 'id', type: 'string' }, { name: 'note', type: ['null', 'string'] }] } as const
 * type Order = AvroType<typeof ORDER>   // { id: string; note: string | null }
 * const orders = await avroSerializer<Order>({ registry, topic: 'orders', schema: ORDER })
 */
export type AvroType<S> = S extends string
  ? AvroPrimitive<S>
  : S extends readonly unknown[]
    ? AvroType<S[number]>
    : S extends { readonly type: 'record' | 'error'; readonly fields: readonly AvroField[] }
      ? { -readonly [F in S['fields'][number] as F['name']]: AvroType<F['type']> }
      : S extends { readonly type: 'enum'; readonly symbols: readonly (infer E)[] }
        ? E
        : S extends { readonly type: 'array'; readonly items: infer I }
          ? Array<AvroType<I>>
          : S extends { readonly type: 'map'; readonly values: infer V }
            ? Record<string, AvroType<V>>
            : S extends { readonly type: 'fixed' }
              ? Buffer
              : S extends { readonly type: infer P extends string }
                ? AvroPrimitive<P>
                : unknown

interface AvroField {
  readonly name: string
  readonly type: unknown
}

type AvroPrimitive<P extends string> = P extends 'null'
  ? null
  : P extends 'boolean'
    ? boolean
    : P extends 'int' | 'long' | 'float' | 'double'
      ? number
      : P extends 'bytes'
        ? Buffer
        : P extends 'string'
          ? string
          : unknown
