import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { KafkaRuntime } from './resolve.js'

/**
 * Writes `configFile`, the log configuration of one of Kafka's JVMs, in the format of the runtime's
 * backend, and returns the JVM options that select it. `output` is a file (a server's log: INFO with
 * timestamps; the chatty state-change logger at WARN) or `'stderr'` (a tool's: WARN and above). An
 * existing `configFile` is kept (the tools' one is shared by every run).
 */
export function logOptions(runtime: KafkaRuntime, configFile: string, output: { readonly file: string } | 'stderr'): string[] {
  const toFile = output !== 'stderr'
  const level = toFile ? 'info' : 'warn'
  const pattern = toFile ? '[%d] %p %m (%c)%n' : '%p %m%n'
  if (!existsSync(configFile)) {
    mkdirSync(dirname(configFile), { recursive: true })
    const lines =
      runtime.logging === 'log4j2'
        ? [
            'status = warn',
            `appender.out.type = ${toFile ? 'File' : 'Console'}`,
            'appender.out.name = out',
            toFile ? `appender.out.fileName = ${output.file}` : 'appender.out.target = SYSTEM_ERR',
            'appender.out.layout.type = PatternLayout',
            `appender.out.layout.pattern = ${pattern}`,
            `rootLogger.level = ${level}`,
            'rootLogger.appenderRef.out.ref = out',
            'logger.statechange.name = state.change.logger',
            'logger.statechange.level = warn',
          ]
        : [
            `log4j.rootLogger=${level.toUpperCase()}, out`,
            `log4j.appender.out=org.apache.log4j.${toFile ? 'FileAppender' : 'ConsoleAppender'}`,
            toFile ? `log4j.appender.out.File=${output.file}` : 'log4j.appender.out.Target=System.err',
            'log4j.appender.out.layout=org.apache.log4j.PatternLayout',
            `log4j.appender.out.layout.ConversionPattern=${pattern}`,
            'log4j.logger.state.change.logger=WARN',
          ]
    writeFileSync(configFile, `${lines.join('\n')}\n`)
  }
  return runtime.logging === 'log4j2'
    ? [`-Dlog4j2.configurationFile=${configFile}`]
    : // reload4j leaves out log4j 1's org.apache.log4j.jmx, through which ZooKeeper's server would register its loggers as MBeans.
      [`-Dlog4j.configuration=file:${configFile}`, '-Dzookeeper.jmx.log4j.disable=true']
}
