/**
 * Command-line options in kafka-console-producer's style (`--name value`, `--name=value`, repeatable
 * `--property k=v`, an option whose value is optional), parsed from one table that also writes `--help`,
 * so the help always lists every option with its default.
 */

/** One option of a command. */
export interface OptionSpec {
  /** The name without dashes, e.g. `bootstrap-server`. */
  readonly name: string
  /** `flag`: no value; `value`: a value is required; `optional`: a value may follow (else `whenBare`). */
  readonly kind: 'flag' | 'value' | 'optional'
  /** What the value looks like, for the help, e.g. `HOST:PORT[,HOST:PORT]`. */
  readonly arg?: string
  /** Default when the option is absent, as the help shows it. */
  readonly default?: string
  /** Value of an `optional` option given without one. */
  readonly whenBare?: string
  /** May be given more than once (each value is kept, in order). */
  readonly repeat?: boolean
  /** Must be given. */
  readonly required?: boolean
  /** Accepted for kafka-console-producer compatibility but without effect here; the help says so. */
  readonly ignored?: boolean
  readonly description: string
}

/** A command line that cannot be run: exit code 2, with this message and a pointer to `--help`. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Parsed options: values by name (repeatable ones keep all), and which were given explicitly. */
export class ParsedOptions {
  constructor(
    readonly specs: readonly OptionSpec[],
    private readonly values: ReadonlyMap<string, readonly string[]>,
  ) {}

  /** Whether the option was on the command line. */
  has(name: string): boolean {
    return this.values.has(name)
  }

  /** The last value given, else the default. */
  get(name: string): string | undefined {
    const given = this.values.get(name)
    return given === undefined ? this.spec(name).default : given[given.length - 1]
  }

  /** Every value given, in order (for repeatable options). */
  all(name: string): readonly string[] {
    return this.values.get(name) ?? []
  }

  /** An integer option in `[min, max]`; a usage error that names it otherwise. */
  integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    return parseInteger(`--${name}`, this.get(name), min, max)
  }

  private spec(name: string): OptionSpec {
    const spec = this.specs.find((s) => s.name === name)
    if (spec === undefined) throw new Error(`no option --${name} in this command's table`)
    return spec
  }
}

/** Parses `argv` against `specs`. Unknown options, missing values and missing required options are usage errors. */
export function parseOptions(argv: readonly string[], specs: readonly OptionSpec[]): ParsedOptions {
  const values = new Map<string, string[]>()
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!
    if (!word.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(word)}`)
    const equals = word.indexOf('=')
    const name = word.slice(2, equals < 0 ? undefined : equals)
    const spec = specs.find((s) => s.name === name)
    if (spec === undefined) throw new UsageError(`unknown option --${name}`)
    let value: string
    if (equals >= 0) {
      if (spec.kind === 'flag') throw new UsageError(`option --${name} takes no value`)
      value = word.slice(equals + 1)
    } else if (spec.kind === 'flag') {
      value = 'true'
    } else {
      const next = argv[i + 1]
      if (next !== undefined && !next.startsWith('--')) {
        value = next
        i++
      } else if (spec.kind === 'optional') {
        value = spec.whenBare ?? ''
      } else {
        throw new UsageError(`option --${name} needs a value${spec.arg === undefined ? '' : ` (${spec.arg})`}`)
      }
    }
    const list = values.get(name)
    if (list !== undefined && !spec.repeat && spec.kind !== 'flag') throw new UsageError(`option --${name} is given twice`)
    if (list === undefined) values.set(name, [value])
    else list.push(value)
  }
  for (const spec of specs) {
    if (spec.required && !values.has(spec.name) && !values.has('help')) throw new UsageError(`missing required option --${spec.name}`)
  }
  return new ParsedOptions(specs, values)
}

/** The help text for a command: usage line, then every option with its argument, description and default. */
export function helpText(usage: string, summary: string, specs: readonly OptionSpec[]): string {
  const left = specs.map((s) => `  --${s.name}${s.arg === undefined ? '' : s.kind === 'optional' ? ` [${s.arg}]` : ` ${s.arg}`}`)
  const width = Math.max(...left.map((l) => l.length)) + 2
  const lines = specs.map((s, i) => {
    const notes = [s.required ? 'required' : undefined, s.default === undefined ? undefined : `default: ${s.default}`, s.ignored ? 'accepted, no effect' : undefined].filter(Boolean)
    return `${left[i]!.padEnd(width)}${s.description}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`
  })
  return [`usage: ${usage}`, '', summary, '', 'options:', ...lines, ''].join('\n')
}

/** `KEY=VALUE` split at the first `=`; a usage error naming the option otherwise. */
export function keyValue(option: string, text: string): [string, string] {
  const equals = text.indexOf('=')
  if (equals <= 0) throw new UsageError(`${option} takes KEY=VALUE, got ${JSON.stringify(text)}`)
  return [text.slice(0, equals).trim(), text.slice(equals + 1)]
}

/** An integer in `[min, max]` from text; a usage error naming `what` otherwise. */
export function parseInteger(what: string, text: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text)
  if (text === undefined || text.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${what} must be an integer from ${min} to ${max}, got ${JSON.stringify(text ?? '')}`)
  }
  return value
}
