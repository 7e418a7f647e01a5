/**
 * `@topicflow/core/internal`: what topicflow's own packages (the transports, the serdes, the CLI) share
 * with core. It is not the user API (that is `@topicflow/core`): names here change when those packages
 * need them to, without notice.
 */
export { describeValue, messageOf } from './errors.js'
export { integerOption, oneOfOption } from './options.js'
export { RECORD_BATCH_OVERHEAD_BYTES } from './records.js'
export { deadlinePassed, isDeadlinePassed, sleep, untilDeadline, withTimeout } from './timeouts.js'
export { DEFAULT_MAX_BLOCK_MS } from './transport.js'
export { TurnClock } from './turnClock.js'
