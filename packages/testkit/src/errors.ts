/** The testkit could not resolve, start or reach Kafka; the message says what to install or look at. */
export class TestkitError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'TestkitError'
  }
}
