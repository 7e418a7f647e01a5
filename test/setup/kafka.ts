import type { TestProject } from 'vitest/node'
import { startKafka, startSchemaRegistry } from '@topicflow/testkit'

/**
 * Starts one real Kafka broker (KRaft, loopback, free ports) and a real schema registry for every
 * end-to-end test file, or uses KAFKA_BROKERS / SCHEMA_REGISTRY_URL when set. Auto-creation is off, so an
 * unknown topic is an error the tests can see.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [kafka, schemaRegistry] = await Promise.allSettled([
    startKafka({
      brokers: 1,
      brokerConfig: { 'auto.create.topics.enable': 'false' },
    }),
    startSchemaRegistry(),
  ])
  // If one did not start, stop the other, so that nothing keeps the test process alive.
  if (kafka.status === 'rejected' || schemaRegistry.status === 'rejected') {
    if (kafka.status === 'fulfilled') await kafka.value.stop()
    if (schemaRegistry.status === 'fulfilled') await schemaRegistry.value.stop()
    throw kafka.status === 'rejected' ? kafka.reason : (schemaRegistry as PromiseRejectedResult).reason
  }
  const cluster = kafka.value
  const registry = schemaRegistry.value
  project.provide('kafkaBrokers', cluster.bootstrapServers)
  project.provide('kafkaLogDir', cluster.external ? '' : cluster.logDir(0))
  project.provide('schemaRegistryUrl', registry.url)
  return async () => {
    await Promise.all([cluster.stop(), registry.stop()])
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string
    /** The broker's log.dirs, for Kafka's DumpLogSegments; empty on an external cluster. */
    kafkaLogDir: string
    /** The schema registry's Confluent API base URL. */
    schemaRegistryUrl: string
  }
}
