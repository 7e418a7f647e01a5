import { readFileSync } from 'node:fs'
import avro from 'avsc'
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import { exponential, InvalidOptionError, messageOf, TopicflowError, describeValue, type Backoff, type Serializer } from '@topicflow/core'

/** An Avro schema: avsc's schema object, or its JSON text. */
export type AvroSchemaSource = avro.Schema | string

/** How a subject name is made (Confluent's `subject.name.strategy`). */
export type SubjectNameStrategy = 'topic' | 'record' | 'topic-record'

/** Where to reach the registry (its Confluent API): a URL, or a URL with basic auth. */
export type RegistryConnection = string | { readonly url: string; readonly username?: string; readonly password?: string }

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
  /** Registry calls that fail on the network or with a 5xx: how many attempts in all. Default 5. */
  readonly registryAttempts?: number
  /** Wait between registry attempts. Default `exponential(100, 2000)`. */
  readonly registryBackoff?: Backoff
}

/** The registry refused or could not be asked (network, 5xx: `retriable`; 4xx such as 409 incompatible: not). */
export class SchemaRegistryError extends TopicflowError {
  constructor(
    message: string,
    /** The HTTP status, when the registry answered. */
    readonly status: number | undefined,
    /** The subject concerned. */
    readonly subject: string | undefined,
    cause: unknown,
  ) {
    super(message, { cause, retriable: status === undefined || status >= 500 })
  }
}

/** The registry refused a schema as incompatible with the subject's earlier versions (HTTP 409). */
export class IncompatibleSchemaError extends SchemaRegistryError {}

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
  const strategy = options.subjectNameStrategy ?? 'topic'
  if (!['topic', 'record', 'topic-record'].includes(strategy)) throw new InvalidOptionError('avroSerializer.subjectNameStrategy', '"topic", "record" or "topic-record"', strategy)
  const registry = connect(options.registry)
  const ask = registryCaller(options)

  let type: avro.Type
  let id: number
  if (options.registryId !== undefined || options.registryVersion !== undefined) {
    if (strategy !== 'topic' && options.registryId === undefined) {
      throw new InvalidOptionError('avroSerializer.registryVersion', 'the topic strategy (a record strategy needs the schema to name the subject)', strategy)
    }
    const subject = topicSubject(options)
    id =
      options.registryId ??
      (await ask(subject, () => (options.registryVersion === 'latest' ? registry.getLatestSchemaId(subject) : registry.getRegistryId(subject, options.registryVersion!))))
    const schemaId = id
    type = await ask(subject, () => fetchSchema(options.registry, schemaId))
  } else {
    const schema = parseSchema(options.schema ?? readSchemaFile(options.schemaFile!))
    try {
      type = avro.Type.forSchema(schema)
    } catch (error) {
      throw new InvalidOptionError('avroSerializer.schema', `a valid Avro schema (${messageOf(error)})`, schema)
    }
    const subject = subjectFor(strategy, options, type)
    const confluent = { type: SchemaType.AVRO as const, schema: JSON.stringify(type.schema()) }
    id =
      options.autoRegister === false
        ? await ask(subject, () => registry.getRegistryIdBySchema(subject, confluent))
        : (await ask(subject, () => registry.register(confluent, { subject }))).id
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

function endpoint(connection: RegistryConnection): { url: string; auth: { username: string; password: string } | undefined } {
  const url = typeof connection === 'string' ? connection : connection?.url
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw new InvalidOptionError('avroSerializer.registry', 'an http(s) URL, or { url, username, password }', url)
  const auth = typeof connection === 'object' && connection.username !== undefined ? { username: connection.username, password: connection.password ?? '' } : undefined
  return { url: url.replace(/\/$/, ''), auth }
}

function connect(connection: RegistryConnection): SchemaRegistry {
  const { url, auth } = endpoint(connection)
  // Retries are ours (registryAttempts), so the client's own are off.
  return new SchemaRegistry({ host: url, ...(auth === undefined ? {} : { auth }), retry: { retries: 0 } })
}

/** The schema with this id, read from the registry's own answer (`GET /schemas/ids/{id}`). */
async function fetchSchema(connection: RegistryConnection, id: number): Promise<avro.Type> {
  const { url, auth } = endpoint(connection)
  const headers: Record<string, string> = { Accept: 'application/vnd.schemaregistry.v1+json' }
  if (auth !== undefined) headers.Authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`
  let response: Response
  try {
    response = await fetch(`${url}/schemas/ids/${id}`, { headers })
  } catch (error) {
    throw Object.assign(new Error(`network: ${messageOf(error)}`), { status: undefined })
  }
  if (!response.ok) throw Object.assign(new Error(`schema id ${id}: ${await response.text()}`), { status: response.status })
  const body = (await response.json()) as { schema: string }
  return avro.Type.forSchema(JSON.parse(body.schema) as avro.Schema)
}

/** Calls the registry with retries for network errors and 5xx, and turns failures into typed errors. */
function registryCaller(options: AvroSerializerOptions): <V>(subject: string, call: () => Promise<V>) => Promise<V> {
  const attempts = options.registryAttempts ?? 5
  if (!Number.isInteger(attempts) || attempts < 1) throw new InvalidOptionError('avroSerializer.registryAttempts', 'an integer of at least 1', attempts)
  const backoff = options.registryBackoff ?? exponential(100, 2000)
  return async (subject, call) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call()
      } catch (error) {
        const typed = typedRegistryError(error, subject)
        if (!typed.retriable || attempt >= attempts) throw typed
        await new Promise((resolve) => setTimeout(resolve, backoff(attempt)))
      }
    }
  }
}

function typedRegistryError(error: unknown, subject: string): SchemaRegistryError {
  if (error instanceof SchemaRegistryError) return error
  const status = typeof (error as { status?: unknown }).status === 'number' ? (error as { status: number }).status : undefined
  // mappersmith reports a connection that failed as status 400 with no body from the server.
  const unreachable = status === undefined || (status === 400 && /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|socket|network/i.test(messageOf(error)))
  if (status === 409) return new IncompatibleSchemaError(`the registry refused the schema for subject ${subject} as incompatible: ${messageOf(error)}`, status, subject, error)
  if (unreachable) return new SchemaRegistryError(`the schema registry could not be reached for subject ${subject}: ${messageOf(error)}`, undefined, subject, error)
  return new SchemaRegistryError(`the schema registry answered ${status} for subject ${subject}: ${messageOf(error)}`, status, subject, error)
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
