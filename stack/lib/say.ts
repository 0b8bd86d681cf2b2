/** Progress lines for the stack commands: short, on stderr, so stdout stays parseable. */
const started = Date.now()

export function step(message: string): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(5)
  process.stderr.write(`[${seconds}s] ${message}\n`)
}

export function fail(message: string, hint?: string): never {
  process.stderr.write(`error: ${message}\n`)
  if (hint) process.stderr.write(`hint:  ${hint}\n`)
  process.exit(1)
}
