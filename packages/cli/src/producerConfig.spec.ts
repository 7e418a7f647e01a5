import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseOptions, UsageError } from './args.js'
import { PRODUCE_OPTIONS, producerProperties } from './produce.js'
import { producerSettings, readPropertiesFile } from './producerConfig.js'

const settingsOf = (...argv: string[]) => producerSettings(producerProperties(parseOptions(['--bootstrap-server', 'h:1', '--topic', 't', ...argv], PRODUCE_OPTIONS)))

describe('producer settings from the command line', () => {
  it('takes kafka-console-producer’s defaults', () => {
    const s = settingsOf()
    expect([s.acks, s.idempotence, s.lingerMs, s.batchBytes, s.codec, s.attempts, s.retryBackoffMs, s.requestTimeoutMs, s.bufferMemory, s.maxBlockMs]).toEqual([
      'all', undefined, 1000, 16384, 'none', 4, 100, 1500, 33554432, 60000,
    ])
    expect([s.reconnectBackoffMs, s.reconnectBackoffMaxMs, s.deliveryTimeoutMs]).toEqual([50, 1000, 120000])
  })

  it('takes reconnect.backoff.ms and reconnect.backoff.max.ms (the max never below the first)', () => {
    const s = settingsOf('--producer-property', 'reconnect.backoff.ms=200', '--producer-property', 'reconnect.backoff.max.ms=100')
    expect([s.reconnectBackoffMs, s.reconnectBackoffMaxMs, s.unused]).toEqual([200, 200, []])
  })

  it('lets explicit options win over config properties, and config properties over option defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'topicflow-props-'))
    const file = join(dir, 'p.properties')
    writeFileSync(file, '# comment\nlinger.ms = 7\nacks:1\ncompression.type=snappy\nclient.id=a\\\n  b\n')
    try {
      expect(readPropertiesFile(file)).toEqual(new Map([['linger.ms', '7'], ['acks', '1'], ['compression.type', 'snappy'], ['client.id', 'ab']]))
      const s = settingsOf('--producer.config', file, '--producer-property', 'acks=0', '--compression-codec', 'lz4')
      expect([s.lingerMs, s.acks, s.codec, s.client.clientId]).toEqual([7, 0, 'lz4', 'ab'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('maps --max-partition-memory-bytes over --batch-size, and a bare --compression-codec to gzip', () => {
    expect(settingsOf('--batch-size', '100', '--max-partition-memory-bytes', '200').batchBytes).toBe(200)
    expect(settingsOf('--compression-codec').codec).toBe('gzip')
  })

  it('names the property or option that is wrong', () => {
    expect(() => settingsOf('--request-required-acks', '2')).toThrow(/acks must be 0, 1, all or -1/)
    expect(() => settingsOf('--producer-property', 'enable.idempotence=true', '--request-required-acks', '1')).toThrow(/enable.idempotence=true needs acks=all/)
    expect(() => settingsOf('--timeout', 'soon')).toThrow(/linger.ms must be an integer/)
    expect(() => settingsOf('--producer-property', 'delivery.timeout.ms=1000')).toThrow(/delivery.timeout.ms \(1000\) must be at least/)
    expect(() => settingsOf('--compression-codec', 'brotli')).toThrow(UsageError)
    expect(() => settingsOf('--producer-property', 'nokey')).toThrow(/--producer-property takes KEY=VALUE/)
  })

  it("maps SASL/SCRAM and PEM TLS to the transport's options, never echoing the secret", () => {
    const jaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="s3cr\\"et";'
    const s = settingsOf('--producer-property', 'security.protocol=SASL_SSL', '--producer-property', 'sasl.mechanism=SCRAM-SHA-512', '--producer-property', `sasl.jaas.config=${jaas}`, '--producer-property', 'ssl.truststore.certificates=PEM-CA')
    expect(s.client.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'alice', password: 's3cr"et' })
    expect(s.client.ssl).toEqual({ ca: 'PEM-CA' })
    let message = ''
    try {
      settingsOf('--producer-property', 'security.protocol=SASL_PLAINTEXT', '--producer-property', 'sasl.mechanism=PLAIN', '--producer-property', 'sasl.jaas.config=username="bob" secret="hunter2"')
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toContain('no password')
    expect(message).not.toContain('hunter2')
    expect(() => settingsOf('--producer-property', 'security.protocol=SSL', '--producer-property', 'ssl.truststore.type=JKS', '--producer-property', 'ssl.truststore.location=/x.jks')).toThrow(/PEM/)
  })

  it('lists properties it does not use, for a warning', () => {
    expect(settingsOf('--producer-property', 'foo.bar=1', '--producer-property', 'key.serializer=x').unused).toEqual(['foo.bar'])
  })
})
