/**
 * What each row of the bench names besides its figures: the contender's version and the runtime it ran on
 * (a comparison is only as good as the releases it compares).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

/** The version of the package `name` as installed for the bench (the nearest node_modules holding it, as Node resolves it). */
export function installedVersion(name: string, from: string = here): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'node_modules', name, 'package.json')
    if (existsSync(manifest)) return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version
    if (dirname(dir) === dir) throw new Error(`${name} is not installed for the bench`)
  }
}

/** topicflow's version and the commit it was built from (when the bench runs in a git checkout). */
export function topicflowVersion(): string {
  const version = installedVersion('@topicflow/core')
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8' })
  return commit.status === 0 ? `${version} (${commit.stdout.trim()})` : version
}

/** The runtime of this process, e.g. "Node 26.10.0": every Node contender runs on it. */
export function nodeRuntimeLabel(): string {
  return `Node ${process.versions.node}`
}

/** "Java 17.0.15", from `java -version`. */
export function javaRuntimeLabel(javaBin: string): string {
  const output = spawnSync(javaBin, ['-version'], { encoding: 'utf8' })
  const version = /version "([^"]+)"/.exec(`${output.stderr ?? ''}${output.stdout ?? ''}`)?.[1]
  return `Java ${version ?? '(unknown)'}`
}
