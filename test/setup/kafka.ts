import type { TestProject } from 'vitest/node'
import { startKafka } from '@topicflow/testkit'

/**
 * Starts one real Kafka broker (KRaft, loopback, free ports) for every end-to-end test file, or uses
 * KAFKA_BROKERS when set. Auto-creation is off, so an unknown topic is an error the tests can see.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startKafka({
    brokers: 1,
    brokerConfig: { 'auto.create.topics.enable': 'false' },
  })
  project.provide('kafkaBrokers', cluster.bootstrapServers)
  project.provide('kafkaLogDir', cluster.external ? '' : cluster.logDir(0))
  return () => cluster.stop()
}

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string
    /** The broker's log.dirs, for Kafka's DumpLogSegments; empty on an external cluster. */
    kafkaLogDir: string
  }
}
