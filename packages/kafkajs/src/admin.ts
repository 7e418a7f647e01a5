import type { Admin, ITopicConfig } from 'kafkajs'
import { KafkaConnectionError, exponential } from '@topicflow/core'
import { untilDeadline } from '@topicflow/core/internal'

/** Options of `createTopicsAndWait`. */
export interface CreateTopicsAndWaitOptions {
  readonly topics: readonly ITopicConfig[]
  /** How long to wait for every partition to have a leader. Default 60000. */
  readonly timeoutMs?: number
}

/**
 * kafkajs's `admin.createTopics`, then a wait until every partition of every topic has a leader. kafkajs's
 * own `waitForLeaders` gives up on the first UNKNOWN_TOPIC_OR_PARTITION ("This server does not host this
 * topic-partition") from a broker that has not applied the new topic yet, which a loaded machine sees on
 * one KRaft broker as on three; this asks metadata again instead. Resolves with `createTopics`'s answer
 * (false when a topic already existed).
 *
 * @example
 * import { createTopicsAndWait } from '@topicflow/kafkajs'
 * await createTopicsAndWait(admin, { topics: [{ topic: 'orders', numPartitions: 6 }] })
 */
export async function createTopicsAndWait(admin: Admin, options: CreateTopicsAndWaitOptions): Promise<boolean> {
  const created = await admin.createTopics({ topics: [...options.topics] })
  const names = options.topics.map((t) => t.topic)
  const timeoutMs = options.timeoutMs ?? 60_000
  await untilDeadline({
    timeoutMs,
    backoff: exponential(50, 500),
    attempt: async () => {
      const metadata = await admin.fetchTopicMetadata({ topics: names })
      const ready = names.every((name) => {
        const partitions = metadata.topics.find((t) => t.name === name)?.partitions ?? []
        return partitions.length > 0 && partitions.every((p) => p.leader >= 0)
      })
      if (!ready) throw new Error('a partition has no leader yet')
    },
    onDeadline: (lastError) => new KafkaConnectionError(`Topics ${names.join(', ')} got no leader for every partition within ${timeoutMs} ms`, { cause: lastError, retriable: false }),
  })
  return created
}
