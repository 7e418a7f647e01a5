/**
 * A progress bar on stderr: redrawn in place on a terminal, one line per 10% otherwise (CI logs).
 */
export function progressBar(total: number, label: string): { update(done: number): void; finish(done: number): void } {
  const tty = process.stderr.isTTY === true
  const started = performance.now()
  let lastDraw = 0
  let lastDecile = -1
  const line = (done: number): string => {
    const width = 30
    const filled = Math.round((done / total) * width)
    const seconds = (performance.now() - started) / 1000
    const rate = seconds > 0 ? Math.round(done / seconds) : 0
    return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor((done / total) * 100)).padStart(3)}% ${done.toLocaleString('en')}/${total.toLocaleString('en')} ${rate.toLocaleString('en')} rec/s`
  }
  return {
    update(done) {
      if (tty) {
        const now = performance.now()
        if (now - lastDraw < 100) return
        lastDraw = now
        process.stderr.write(`\r${line(done)}`)
      } else {
        const decile = Math.floor((done / total) * 10)
        if (decile !== lastDecile) {
          lastDecile = decile
          process.stderr.write(`${line(done)}\n`)
        }
      }
    },
    finish(done) {
      process.stderr.write(tty ? `\r${line(done)}\n` : `${line(done)}\n`)
    },
  }
}
