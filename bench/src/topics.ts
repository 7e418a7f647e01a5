import type kafkajs from 'kafkajs'

/** Partitions of every topic the benchmark writes. */
export const PARTITIONS = 6

/**
 * Runs `produce` into a fresh topic of `PARTITIONS` partitions (the broker's default replication factor
 * unless given), counts at the broker what landed, and deletes the topic, also when `produce` fails.
 */
export async function inFreshTopic<R>(
  admin: kafkajs.Admin,
  name: string,
  replicationFactor: number | undefined,
  produce: (topic: string) => Promise<R>,
): Promise<{ result: R; landed: number; topic: string }> {
  const topic = `bench-${name.replace(/\W+/g, '-')}-${Date.now()}`
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, ...(replicationFactor === undefined ? {} : { replicationFactor }) }], waitForLeaders: true })
  try {
    const result = await produce(topic)
    const offsets = await countAtBroker(admin, topic)
    return { result, landed: offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0), topic }
  } finally {
    await admin.deleteTopics({ topics: [topic] })
  }
}

/**
 * The topic's offsets, asked again for up to 10 s: on three brokers sharing two cores, kafkajs's admin
 * sometimes answers a fresh topic's ListOffsets with "This server does not host this topic-partition"
 * (its metadata behind the brokers'), which is not a failure of the producer that just wrote it.
 */
async function countAtBroker(admin: kafkajs.Admin, topic: string): Promise<Awaited<ReturnType<kafkajs.Admin['fetchTopicOffsets']>>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin.fetchTopicOffsets(topic)
    } catch (error) {
      if (attempt >= 10) throw error
      await new Promise((resolve) => setTimeout(resolve, 1000))
    }
  }
}
