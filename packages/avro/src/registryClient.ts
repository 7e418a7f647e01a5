import { exponential, InvalidOptionError, TopicflowError } from '@topicflow/core'
import { integerOption, messageOf, sleep } from '@topicflow/core/internal'

/** Where to reach the registry (its Confluent API, e.g. `http://host:8081` or Apicurio's `…/apis/ccompat/v7`): a URL, or one with basic auth. */
export type RegistryConnection = string | { readonly url: string; readonly username?: string; readonly password?: string }

/** The registry refused or could not be asked (network, 5xx: `retriable`; 4xx such as 409 incompatible: not). */
export class SchemaRegistryError extends TopicflowError {
  constructor(
    message: string,
    /** The HTTP status, when the registry answered. */
    readonly status: number | undefined,
    /** The subject concerned. */
    readonly subject: string | undefined,
    cause?: unknown,
  ) {
    super(message, { cause, retriable: status === undefined || status >= 500 })
  }
}

/** The registry refused a schema as incompatible with the subject's earlier versions (HTTP 409). */
export class IncompatibleSchemaError extends SchemaRegistryError {}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'

/**
 * The few calls of the Confluent Schema Registry API a producer needs, over fetch: register, look up,
 * read a version or an id. Network failures and 5xx are retried with backoff up to `attempts`; every
 * failure is a `SchemaRegistryError` naming the subject. Credentials go in the Authorization header only,
 * never into messages.
 */
export class RegistryClient {
  readonly #url: string
  readonly #headers: Record<string, string>
  readonly #backoff = exponential(100, 2000)
  /** Attempts per call in all (`avroSerializer`'s `registryAttempts`). Default 5. */
  readonly attempts: number

  constructor(connection: RegistryConnection, attempts?: number) {
    const url = typeof connection === 'string' ? connection : connection?.url
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw new InvalidOptionError('avroSerializer.registry', 'an http(s) URL, or { url, username, password }', url)
    this.attempts = integerOption('avroSerializer.registryAttempts', attempts, 5, 1)
    this.#url = url.replace(/\/$/, '')
    this.#headers = { Accept: CONTENT_TYPE, 'Content-Type': CONTENT_TYPE }
    if (typeof connection === 'object' && connection.username !== undefined) {
      this.#headers.Authorization = `Basic ${Buffer.from(`${connection.username}:${connection.password ?? ''}`).toString('base64')}`
    }
  }

  /** Registers `schema` under `subject` (or finds it there) and returns its id. */
  async register(subject: string, schema: string): Promise<number> {
    return (await this.#call<{ id: number }>(subject, 'POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema })).id
  }

  /** The id of `schema` if `subject` holds it; a 404 error otherwise. */
  async lookup(subject: string, schema: string): Promise<number> {
    return (await this.#call<{ id: number }>(subject, 'POST', `/subjects/${encodeURIComponent(subject)}`, { schema })).id
  }

  /** A version of `subject` (`'latest'` for the newest): its id and schema text. */
  version(subject: string, version: number | 'latest'): Promise<{ id: number; schema: string }> {
    return this.#call(subject, 'GET', `/subjects/${encodeURIComponent(subject)}/versions/${version}`)
  }

  /** The schema text with this id. */
  async schemaById(id: number): Promise<string> {
    return (await this.#call<{ schema: string }>(undefined, 'GET', `/schemas/ids/${id}`)).schema
  }

  async #call<V>(subject: string | undefined, method: string, path: string, body?: unknown): Promise<V> {
    const about = subject === undefined ? path : `subject ${subject}`
    for (let attempt = 1; ; attempt++) {
      let error: SchemaRegistryError
      try {
        const response = await fetch(`${this.#url}${path}`, { method, headers: this.#headers, body: body === undefined ? undefined : JSON.stringify(body) })
        if (response.ok) return (await response.json()) as V
        const text = await response.text()
        const reason = (() => {
          try {
            return (JSON.parse(text) as { message?: string }).message ?? text
          } catch {
            return text
          }
        })()
        error =
          response.status === 409
            ? new IncompatibleSchemaError(`the registry refused the schema for ${about} as incompatible: ${reason}`, 409, subject)
            : new SchemaRegistryError(`the schema registry answered ${response.status} for ${about}: ${reason}`, response.status, subject)
      } catch (caught) {
        error = new SchemaRegistryError(`the schema registry at ${this.#url} could not be reached for ${about}: ${messageOf((caught as { cause?: unknown }).cause ?? caught)}`, undefined, subject, caught)
      }
      if (!error.retriable || attempt >= this.attempts) throw error
      await sleep(this.#backoff(attempt))
    }
  }
}
