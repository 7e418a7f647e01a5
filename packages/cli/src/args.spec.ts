import { describe, expect, it } from 'vitest'
import { helpText, parseOptions, UsageError, type OptionSpec } from './args.js'

const SPECS: OptionSpec[] = [
  { name: 'topic', kind: 'value', required: true, description: 'the topic' },
  { name: 'property', kind: 'value', repeat: true, description: 'k=v' },
  { name: 'codec', kind: 'optional', default: 'none', whenBare: 'gzip', description: 'codec' },
  { name: 'sync', kind: 'flag', description: 'sync' },
]

describe('parseOptions', () => {
  it('takes --name value, --name=value, repeats, bare optional values and flags', () => {
    const parsed = parseOptions(['--topic', 't', '--property=a=1', '--property', 'b=2', '--codec', '--sync'], SPECS)
    expect([parsed.get('topic'), parsed.all('property'), parsed.get('codec'), parsed.has('sync')]).toEqual(['t', ['a=1', 'b=2'], 'gzip', true])
    expect(parseOptions(['--topic', 't'], SPECS).get('codec')).toBe('none')
  })

  it('names the option in every usage error', () => {
    expect(() => parseOptions(['--topic', 't', '--nope'], SPECS)).toThrow(new UsageError('unknown option --nope'))
    expect(() => parseOptions(['--topic'], SPECS)).toThrow(/--topic needs a value/)
    expect(() => parseOptions([], SPECS)).toThrow(/missing required option --topic/)
    expect(() => parseOptions(['--topic', 'a', '--topic', 'b'], SPECS)).toThrow(/--topic is given twice/)
    expect(() => parseOptions(['--topic', 't', 'stray'], SPECS)).toThrow(/unexpected argument/)
    expect(() => parseOptions(['--topic', 't', '--sync=yes'], SPECS)).toThrow(/--sync takes no value/)
  })

  it('writes a help line per option with its default', () => {
    const help = helpText('cmd', 'does things', SPECS)
    for (const spec of SPECS) expect(help).toContain(`--${spec.name}`)
    expect(help).toContain('default: none')
    expect(help).toContain('required')
  })
})
