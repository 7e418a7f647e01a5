import { readFileSync } from 'node:fs'
import avro from 'avsc'
import { InvalidOptionError, TopicflowError, type Serializer } from '@topicflow/core'
import { describeValue, messageOf, oneOfOption } from '@topicflow/core/internal'
import { RegistryClient, type RegistryConnection } from './registryClient.js'

/** An Avro schema: avsc's schema object, or its JSON text. */
export type AvroSchemaSource = avro.Schema | string

const SUBJECT_NAME_STRATEGIES = ['topic', 'record', 'topic-record'] as const

/** How a subject name is made (Confluent's `subject.name.strategy`). */
export type SubjectNameStrategy = (typeof SUBJECT_NAME_STRATEGIES)[number]


/** Options of `avroSerializer`. Give `schema` or `schemaFile` (the writer schema), or `registryVersion` / `registryId`. */
export interface AvroSerializerOptions {
  /** The schema registry (Confluent API). */
  readonly registry: RegistryConnection
  /** The topic the records go to; names the subject under the topic strategies. */
  readonly topic: string
  /** The writer schema, as an object or JSON text. */
  readonly schema?: AvroSchemaSource
  /** A `.avsc` file holding the writer schema. */
  readonly schemaFile?: string
  /** Use the subject's schema of this version from the registry (`'latest'` for the newest). */
  readonly registryVersion?: number | 'latest'
  /** Use the registry's schema with this id. */
  readonly registryId?: number
  /** Serialize keys: the subject is `<topic>-key` under the topic strategy. Default false. */
  readonly isKey?: boolean
  /** Register the schema when the subject does not hold it yet (`auto.register.schemas`). Default true. */
  readonly autoRegister?: boolean
  /** `topic` (`<topic>-value`, default), `record` (the record's full name) or `topic-record` (`<topic>-<full name>`). */
  readonly subjectNameStrategy?: SubjectNameStrategy
  /** Registry calls that fail on the network or with a 5xx: how many attempts in all, with backoff between. Default 5. */
  readonly registryAttempts?: number
}

/** An event does not match the Avro schema. `paths` name each field that does not, e.g. `pizzas.0.size`. */
export class AvroValidationError extends TopicflowError {
  constructor(
    readonly paths: readonly string[],
    readonly event: unknown,
    schemaName: string,
  ) {
    super(`event ${describeValue(event)} does not match Avro schema ${schemaName} at ${paths.join(', ')}`, { sources: [event] })
  }
}

/** Confluent's wire format: magic byte 0, then the schema id as a 4-byte big-endian integer, then Avro binary. */
const MAGIC_BYTE = 0
const HEADER_BYTES = 5

/**
 * Makes a `Serializer` that writes Confluent's wire format (magic byte 0, 4-byte schema id, Avro binary),
 * which Confluent's deserializers (Java, Go, Python) read unchanged. The registry is asked once, here:
 * the schema is registered (or looked up) and its id cached in the returned function, which is
 * synchronous. An event that does not match the schema throws `AvroValidationError` naming the fields,
 * which `serialize` reports with the event.
 *
 * @example
 * import { serialize } from '@topicflow/core'
 * import { avroSerializer } from '@topicflow/avro'
 * const schema = { type: 'record', name: 'Order', namespace: 'shop', fields: [{ name: 'id', type: 'string' }] }
 * const orders = await avroSerializer<{ id: string }>({ registry: 'http://127.0.0.1:8081', topic: 'orders', schema })
 * events$.pipe(serialize('orders', orders))
 */
export async function avroSerializer<T>(options: AvroSerializerOptions): Promise<Serializer<T>> {
  const sources = [options.schema, options.schemaFile, options.registryVersion, options.registryId].filter((s) => s !== undefined)
  if (sources.length !== 1) throw new InvalidOptionError('avroSerializer.schema', 'exactly one of schema, schemaFile, registryVersion, registryId', sources.length)
  if (typeof options.topic !== 'string' || options.topic === '') throw new InvalidOptionError('avroSerializer.topic', 'a topic name', options.topic)
  const strategy = oneOfOption('avroSerializer.subjectNameStrategy', options.subjectNameStrategy, 'topic', SUBJECT_NAME_STRATEGIES)
  const registry = new RegistryClient(options.registry, options.registryAttempts)

  let type: avro.Type
  let id: number
  if (options.registryId !== undefined || options.registryVersion !== undefined) {
    if (strategy !== 'topic' && options.registryId === undefined) {
      throw new InvalidOptionError('avroSerializer.registryVersion', 'the topic strategy (a record strategy needs the schema to name the subject)', strategy)
    }
    const found = options.registryId !== undefined ? { id: options.registryId, schema: await registry.schemaById(options.registryId) } : await registry.version(topicSubject(options), options.registryVersion!)
    id = found.id
    type = avro.Type.forSchema(JSON.parse(found.schema) as avro.Schema)
  } else {
    const schema = parseSchema(options.schema ?? readSchemaFile(options.schemaFile!))
    try {
      type = avro.Type.forSchema(schema)
    } catch (error) {
      throw new InvalidOptionError('avroSerializer.schema', `a valid Avro schema (${messageOf(error)})`, schema)
    }
    const subject = subjectFor(strategy, options, type)
    // The schema as the user wrote it (compact JSON): avsc's own export drops logical types it does not
    // implement, and without `exportAttrs` the field defaults, which makes a compatible change look incompatible.
    const text = JSON.stringify(schema)
    id = options.autoRegister === false ? await registry.lookup(subject, text) : await registry.register(subject, text)
  }
  return encoderFor<T>(type, id)
}

function encoderFor<T>(type: avro.Type, id: number): Serializer<T> {
  const header = Buffer.alloc(HEADER_BYTES)
  header.writeUInt8(MAGIC_BYTE, 0)
  header.writeUInt32BE(id, 1)
  const name = type.name ?? type.typeName
  // One scratch buffer, grown when a value does not fit; each record gets an exact copy of its bytes.
  let scratch = Buffer.allocUnsafe(8192)
  return (value: T) => {
    const invalidPaths: string[] = []
    if (!type.isValid(value, { errorHook: (path) => invalidPaths.push(path.join('.') || '(root)') })) {
      throw new AvroValidationError(invalidPaths, value, name)
    }
    let end = type.encode(value, scratch, HEADER_BYTES)
    while (end < 0) {
      scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - end))
      end = type.encode(value, scratch, HEADER_BYTES)
    }
    const bytes = Buffer.allocUnsafe(end)
    header.copy(bytes, 0)
    scratch.copy(bytes, HEADER_BYTES, HEADER_BYTES, end)
    return bytes
  }
}

function topicSubject(options: AvroSerializerOptions): string {
  return `${options.topic}-${options.isKey === true ? 'key' : 'value'}`
}

function subjectFor(strategy: SubjectNameStrategy, options: AvroSerializerOptions, type: avro.Type): string {
  if (strategy === 'topic') return topicSubject(options)
  if (type.name === undefined) throw new InvalidOptionError('avroSerializer.subjectNameStrategy', 'a named (record) schema for the record strategies', strategy)
  return strategy === 'record' ? type.name : `${options.topic}-${type.name}`
}

function parseSchema(source: AvroSchemaSource): avro.Schema {
  if (typeof source !== 'string') return source
  try {
    return JSON.parse(source) as avro.Schema
  } catch (error) {
    throw new InvalidOptionError('avroSerializer.schema', `Avro schema JSON (${messageOf(error)})`, source)
  }
}

function readSchemaFile(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new InvalidOptionError('avroSerializer.schemaFile', `a readable .avsc file (${messageOf(error)})`, path)
  }
}
