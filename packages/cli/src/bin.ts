/** The `topicflow` command: `produce` and `kafka up|status|down`. Exit codes: 0 ok, 1 failure, 2 usage error. */
import { readFileSync } from 'node:fs'
import { UsageError } from './args.js'
import { kafkaCommand, kafkaHelp } from './kafka.js'
import { produce, produceHelp } from './produce.js'

const HELP = `usage: topicflow <command> [options]

commands:
  produce   read stdin, one record per line, into a Kafka topic (kafka-console-producer's options)
  kafka     up | status | down: a local Apache Kafka in the background, for trying topicflow

  topicflow produce --help, topicflow kafka --help: every option with its default

${produceHelp()}
${kafkaHelp()}`

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === 'produce') return produce(rest, process)
  if (command === 'kafka') return kafkaCommand(rest, process.stdout, process.stderr)
  if (command === '--version') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
    process.stdout.write(`${pkg.version}\n`)
    return 0
  }
  if (command === undefined || command === '--help' || command === 'help') {
    process.stdout.write(HELP)
    return command === undefined ? 2 : 0
  }
  throw new UsageError(`unknown command ${JSON.stringify(command)} (produce or kafka)`)
}

// Exit as soon as the command is done: a client library may still hold timers or sockets, which must
// not keep the process, and its exit code, waiting.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`topicflow: ${error.message}\n(see topicflow ${process.argv[2] === 'kafka' ? 'kafka' : process.argv[2] === 'produce' ? 'produce ' : ''}--help)\n`)
      process.exit(2)
    }
    process.stderr.write(`topicflow: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
