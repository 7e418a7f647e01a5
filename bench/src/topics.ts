import kafkajs from 'kafkajs'
import { createTopicsAndWait } from '@topicflow/kafkajs'

/** Partitions of every topic the benchmark writes. */
export const PARTITIONS = 6

/** The benchmark's own clients of a cluster: an admin for topics and counts, a producer for the primer records. */
export interface BenchAdmin {
  readonly admin: kafkajs.Admin
  readonly producer: kafkajs.Producer
  disconnect(): Promise<void>
}

export async function connectBenchAdmin(brokers: readonly string[]): Promise<BenchAdmin> {
  const kafka = new kafkajs.Kafka({ brokers: [...brokers], clientId: 'bench-admin', logLevel: kafkajs.logLevel.NOTHING })
  const admin = kafka.admin()
  const producer = kafka.producer()
  await admin.connect()
  await producer.connect()
  return {
    admin,
    producer,
    async disconnect() {
      await Promise.all([admin.disconnect(), producer.disconnect()])
    },
  }
}

/**
 * Runs `produce` into a fresh topic of `PARTITIONS` partitions (the broker's default replication factor
 * unless given), counts at the broker what landed, and deletes the topic, also when `produce` fails.
 *
 * Before `produce`, one primer record per partition is written with acks=all (and counted out).
 * On three brokers a fresh partition's followers often first hear UNKNOWN_TOPIC_OR_PARTITION from its
 * leader (the leader has not applied the new topic yet) and then wait out `replica.fetch.backoff.ms`
 * (1 s): every acks=all request in that second waited for it, up to a second in a run of two or three,
 * falling on whichever contender was quickest off the mark. Once a primer is acknowledged by all
 * replicas, every follower is fetching.
 *
 * A failure of the benchmark's own clients says which step it was, so that it is not taken for the
 * contender's.
 */
export async function inFreshTopic<R>(
  bench: BenchAdmin,
  name: string,
  replicationFactor: number | undefined,
  produce: (topic: string) => Promise<R>,
): Promise<{ result: R; landed: number; topic: string }> {
  const topic = `bench-${name.replace(/\W+/g, '-')}-${Date.now()}`
  await step(`creating ${topic}`, () =>
    createTopicsAndWait(bench.admin, { topics: [{ topic, numPartitions: PARTITIONS, ...(replicationFactor === undefined ? {} : { replicationFactor }) }] }),
  )
  try {
    await step(`priming ${topic}`, () =>
      bench.producer.send({ topic, acks: -1, messages: Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, value: 'primer' })) }),
    )
    // Counted rather than assumed: a primer request retried (here or inside kafkajs) may have landed twice.
    const primers = await recordsIn(bench, topic)
    const result = await produce(topic)
    return { result, landed: (await recordsIn(bench, topic)) - primers, topic }
  } finally {
    await step(`deleting ${topic}`, () => bench.admin.deleteTopics({ topics: [topic] }))
  }
}

/** Records in `topic` by its partitions' offsets, as the broker has them. */
async function recordsIn(bench: BenchAdmin, topic: string): Promise<number> {
  const offsets = await step(`counting the records in ${topic}`, () => bench.admin.fetchTopicOffsets(topic))
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0)
}

/**
 * One request of the benchmark's clients, asked again for up to 10 s: on three brokers sharing two cores,
 * kafkajs sometimes answers about a topic just created with "This server does not host this
 * topic-partition" (its metadata behind the brokers'), which is not a failure of the producer under test.
 */
export async function step<T>(what: string, request: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request()
    } catch (error) {
      if (attempt >= 10) throw new Error(`bench's own client, ${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
      await new Promise((resolve) => setTimeout(resolve, 1000))
    }
  }
}
