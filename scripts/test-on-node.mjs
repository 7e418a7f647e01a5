// `node scripts/test-on-node.mjs 26` (or `npm run test:node -- 26`): the whole suite again, as `npm test`
// runs it, on another Node.js release line. That line's newest release is installed from the npm registry
// (the `node` package) into the cache folder on first use, and put first on PATH, so that every child
// process the tests start (the CLI, the testkit's helpers, npm in the packaging test) runs on it too.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const major = Number(process.argv[2])
if (!Number.isInteger(major) || major < 1) {
  console.error(`usage: node scripts/test-on-node.mjs <release line, e.g. 26>; got ${process.argv[2] ?? 'nothing'}`)
  process.exit(2)
}

/** Runs a command in the repository's root, inheriting stdio; exits with its status if it fails. */
function run(command, args, env = process.env) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

run(process.execPath, [join(root, 'scripts', 'bootstrap.mjs'), '--with-kcat'])
run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'])
const { resolveNode, envForNode } = await import('@topicflow/testkit')
const runtime = resolveNode(major, (line) => console.error(`[topicflow] ${line}`))
console.error(`[topicflow] the suite on Node.js ${runtime.version} (${runtime.execPath})`)
run(runtime.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run'], envForNode(runtime))
