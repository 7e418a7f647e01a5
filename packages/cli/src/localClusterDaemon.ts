/**
 * The background process behind `topicflow kafka up`: owns the testkit cluster (whose reaper removes the
 * brokers should this process die), writes the state file once the cluster answers, and stops the cluster
 * and removes the file on SIGTERM or SIGINT. Arguments: broker count, state file path, and `registry` to
 * start a schema registry too.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { startKafka, startSchemaRegistry } from '@topicflow/testkit'
import type { LocalClusterState } from './kafka.js'

const [brokersArg, stateFile, withRegistry] = process.argv.slice(2)
if (stateFile === undefined || (brokersArg !== '1' && brokersArg !== '3')) {
  console.error('usage: localClusterDaemon.js 1|3 STATE_FILE (started by topicflow kafka up)')
  process.exit(2)
}
const brokers = brokersArg === '3' ? 3 : 1
const [cluster, registry] = await Promise.all([startKafka({ brokers }), withRegistry === 'registry' ? startSchemaRegistry() : undefined])
const state: LocalClusterState = { pid: process.pid, bootstrapServers: cluster.bootstrapServers, brokers, ...(registry === undefined ? {} : { registryUrl: registry.url }) }
// Written whole and then renamed: `kafka up` polls the file and must never read it half written.
writeFileSync(`${stateFile}.tmp`, JSON.stringify(state))
renameSync(`${stateFile}.tmp`, stateFile)
console.log(`KAFKA_BROKERS=${cluster.bootstrapServers}`)
let stopping = false
const stop = async (): Promise<void> => {
  if (stopping) return
  stopping = true
  rmSync(stateFile, { force: true })
  await Promise.all([cluster.stop(), registry?.stop()])
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())
// Stay alive until told to stop.
setInterval(() => undefined, 1 << 30)
