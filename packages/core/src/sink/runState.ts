/** The life of one subscription to the sink (reactor-kafka's `SendSubscriber.State`). */
export enum RunState {
  /** Accepting records and sending them. */
  Open = 'open',
  /** Upstream ended: sending what is queued, then completing (or passing upstream's error on). */
  Draining = 'draining',
  /** A record failed for good in `'fail'` mode: nothing more is sent; waiting for what is in flight and for upstream to drain, then failing with every event named. */
  Failing = 'failing',
  /** A close deadline overtook it: everything left was handed back; answers still due are ignored. */
  Abandoned = 'abandoned',
  /** Closing its producer session before it ends the stream. */
  Finishing = 'finishing',
  /** Ended: completed, errored or unsubscribed. */
  Finished = 'finished',
}

/** The moves the life cycle allows: forward only, and `Finished` from anywhere (an unsubscribe). */
const NEXT: Readonly<Record<RunState, readonly RunState[]>> = {
  [RunState.Open]: [RunState.Draining, RunState.Failing, RunState.Abandoned, RunState.Finishing, RunState.Finished],
  [RunState.Draining]: [RunState.Failing, RunState.Abandoned, RunState.Finishing, RunState.Finished],
  [RunState.Failing]: [RunState.Abandoned, RunState.Finishing, RunState.Finished],
  [RunState.Abandoned]: [RunState.Finishing, RunState.Finished],
  [RunState.Finishing]: [RunState.Finished],
  [RunState.Finished]: [],
}

export function canMove(from: RunState, to: RunState): boolean {
  return NEXT[from].includes(to)
}
