/**
 * Virus scanning of uploaded files. A scan ends in a verdict (clean, or infected with the name
 * of the signature that matched) or throws ScannerUnavailable: no outcome lets a file through
 * unscanned (fail closed). Skipping scans takes LEAPS_SCANNER=disabled, set on purpose.
 *
 * clamd is reached through node:net, which works alike in Deno and in Node. The Deno namespace
 * that vitest borrows from @deno/shim-deno cannot be used instead: its Deno.connect never
 * settles when the connection is refused and has no Unix sockets.
 */
import net from 'node:net'
import type { Config } from './config.ts'
import { AppError } from './errors.ts'
import type { Logger } from './log.ts'

export type ScanVerdict = { verdict: 'clean' } | { verdict: 'infected'; signature: string }

export interface ScanContext {
  /** Receives one line per scan (verdict or failure reason, size, duration), never content. */
  log?: Logger
  /** Cancels the scan, which then fails like any other. */
  signal?: AbortSignal
}

export interface Scanner {
  readonly kind: 'clamd' | 'disabled'
  scan(data: Uint8Array | AsyncIterable<Uint8Array>, ctx?: ScanContext): Promise<ScanVerdict>
}

const FAILURES = {
  unreachable: 'the virus scanner cannot be reached',
  timeout: 'the virus scanner did not answer in time',
  connection_lost: 'the connection to the virus scanner was lost',
  too_large: 'the file is larger than the virus scanner accepts',
  scanner_error: 'the virus scanner reported an error',
  malformed_reply: 'the virus scanner gave an answer that was not understood',
  unreadable_input: 'the file could not be read for scanning',
  aborted: 'the scan was cancelled',
} as const

export type ScanFailure = keyof typeof FAILURES

/**
 * A scan that gave no verdict: the file must not be accepted. The message names the reason
 * only; what the scanner or the network said stays in `cause`, for the server log.
 */
export class ScannerUnavailable extends AppError {
  readonly reason: ScanFailure

  constructor(reason: ScanFailure, options?: { cause?: unknown }) {
    super('unavailable', `The file was not scanned: ${FAILURES[reason]}`, options)
    this.name = 'ScannerUnavailable'
    this.reason = reason
  }
}

/** Accepts everything. Chosen only by LEAPS_SCANNER=disabled; each skipped scan is logged. */
export const disabledScanner: Scanner = {
  kind: 'disabled',
  scan(_data, ctx) {
    ctx?.log?.warn('virus_scan_skipped', { scanner: 'disabled' })
    return Promise.resolve({ verdict: 'clean' })
  },
}

export type ClamdTarget = { socket: string } | { host: string; port: number }

export interface ClamdScannerOptions {
  target: ClamdTarget
  /** Longest wait on clamd (connecting, taking data, answering); waits for the input aside. */
  timeoutMs?: number
  /** Largest chunk sent in one INSTREAM frame. */
  chunkBytes?: number
}

const COMMAND = new TextEncoder().encode('zINSTREAM\0')
const END_OF_STREAM = new Uint8Array(4)
/** clamd's answers are a line; anything longer without its NUL is not clamd. */
const MAX_REPLY_BYTES = 1024
/** Signature names are printable ASCII without spaces, e.g. Leaps.Test.EICAR.UNOFFICIAL. */
const SIGNATURE_NAME = /^[!-~]{1,200}$/

/**
 * Reads clamd's answer to INSTREAM (without its NUL): `stream: OK`, `stream: <name> FOUND`,
 * or `<message> ERROR`. An ERROR, or anything else, throws.
 */
export function parseClamdReply(reply: string): ScanVerdict {
  if (reply === 'stream: OK') return { verdict: 'clean' }
  const found = /^stream: (.+) FOUND$/.exec(reply)?.[1]
  if (found !== undefined && SIGNATURE_NAME.test(found)) {
    return { verdict: 'infected', signature: found }
  }
  if (reply.endsWith(' ERROR')) {
    throw new ScannerUnavailable(/size limit exceeded/i.test(reply) ? 'too_large' : 'scanner_error')
  }
  throw new ScannerUnavailable('malformed_reply')
}

function frameHeader(length: number): Uint8Array {
  const header = new Uint8Array(4)
  new DataView(header.buffer).setUint32(0, length)
  return header
}

async function* pieces(data: Uint8Array | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (data instanceof Uint8Array) yield data
  else yield* data
}

/**
 * One INSTREAM exchange on a fresh connection. The clock runs only while waiting on clamd,
 * so a slow caller does not count against it (clamd's own ReadTimeout covers that side).
 */
function instream(
  options: Required<ClamdScannerOptions>,
  data: Uint8Array | AsyncIterable<Uint8Array>,
  signal: AbortSignal | undefined,
  sent: (bytes: number) => void,
): Promise<ScanVerdict> {
  return new Promise<ScanVerdict>((resolve, reject) => {
    const { target, timeoutMs, chunkBytes } = options
    let settled = false
    let connected = false
    let timer: ReturnType<typeof setTimeout> | undefined
    let reply = new Uint8Array(0)
    let socket: net.Socket | undefined

    const settle = (outcome: ScanVerdict | ScannerUnavailable) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      socket?.destroy()
      if (outcome instanceof ScannerUnavailable) reject(outcome)
      else resolve(outcome)
    }
    const fail = (reason: ScanFailure, cause?: unknown) =>
      settle(new ScannerUnavailable(reason, cause === undefined ? undefined : { cause }))
    const arm = () => {
      clearTimeout(timer)
      timer = setTimeout(() => fail('timeout'), timeoutMs)
    }
    const onAbort = () => fail('aborted', signal?.reason)
    const answered = (bytes: Uint8Array) => {
      try {
        settle(parseClamdReply(new TextDecoder().decode(bytes)))
      } catch (error) {
        settle(error as ScannerUnavailable)
      }
    }

    if (signal?.aborted) return onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })
    arm()
    try {
      socket = 'socket' in target
        ? net.connect({ path: target.socket })
        : net.connect({ host: target.host, port: target.port })
    } catch (error) {
      // Deno refuses at once, without an 'error' event, when it lacks the permission.
      return fail('unreachable', error)
    }
    const conn = socket

    /** Resolves once the bytes are taken or buffered, or once the scan is over anyway. */
    const write = (bytes: Uint8Array): Promise<void> => {
      if (settled) return Promise.resolve()
      arm()
      if (conn.write(bytes)) return Promise.resolve()
      return new Promise((done) => {
        const go = () => {
          conn.off('drain', go)
          conn.off('close', go)
          done()
        }
        conn.on('drain', go)
        conn.on('close', go)
      })
    }

    const send = async () => {
      await write(COMMAND)
      const input = pieces(data)
      try {
        while (!settled) {
          // Waiting for the caller's data is not waiting for clamd.
          clearTimeout(timer)
          let next: IteratorResult<Uint8Array>
          try {
            next = await input.next()
          } catch (error) {
            return fail('unreadable_input', error)
          }
          if (next.done) break
          const piece: unknown = next.value
          if (!(piece instanceof Uint8Array)) {
            return fail('unreadable_input', new TypeError('scan input must be Uint8Array chunks'))
          }
          // An empty frame would end the stream early, leaving the rest unscanned: skip it.
          for (let at = 0; at < piece.length && !settled; at += chunkBytes) {
            const chunk = piece.subarray(at, at + chunkBytes)
            await write(frameHeader(chunk.length))
            await write(chunk)
            sent(chunk.length)
          }
        }
        // The clock now runs until clamd answers.
        await write(END_OF_STREAM)
      } finally {
        if (settled) await input.return(undefined).catch(() => {})
      }
    }

    conn.on('connect', () => {
      connected = true
      send().catch((error: unknown) => fail('connection_lost', error))
    })
    conn.on('error', (error) => fail(connected ? 'connection_lost' : 'unreachable', error))
    conn.on('data', (bytes: Uint8Array) => {
      const joined = new Uint8Array(reply.length + bytes.length)
      joined.set(reply)
      joined.set(bytes, reply.length)
      reply = joined
      const end = reply.indexOf(0)
      if (end >= 0) answered(reply.subarray(0, end))
      else if (reply.length > MAX_REPLY_BYTES) fail('malformed_reply')
    })
    conn.on('close', () => {
      // clamd ends every answer to a z-command with a NUL; a close before it is no answer.
      if (reply.length > 0) fail('malformed_reply')
      else fail(connected ? 'connection_lost' : 'unreachable')
    })
  })
}

/** Scans with clamd's INSTREAM command, one connection per scan. */
export function clamdScanner(options: ClamdScannerOptions): Scanner {
  const settings: Required<ClamdScannerOptions> = {
    target: options.target,
    timeoutMs: options.timeoutMs ?? 10_000,
    chunkBytes: options.chunkBytes ?? 64 * 1024,
  }
  if (
    !Number.isInteger(settings.chunkBytes) || settings.chunkBytes < 1 ||
    settings.chunkBytes > 1024 * 1024
  ) {
    throw new TypeError('chunkBytes must be an integer from 1 to 1048576')
  }
  if (!(settings.timeoutMs > 0)) throw new TypeError('timeoutMs must be positive')
  return {
    kind: 'clamd',
    async scan(data, ctx) {
      const started = performance.now()
      let bytes = 0
      const fields = () => ({
        scanner: 'clamd',
        bytes,
        duration_ms: Math.round(performance.now() - started),
      })
      try {
        const result = await instream(settings, data, ctx?.signal, (n) => (bytes += n))
        if (result.verdict === 'infected') {
          ctx?.log?.warn('virus_found', { ...fields(), signature: result.signature })
        } else {
          ctx?.log?.info('virus_scan_clean', fields())
        }
        return result
      } catch (error) {
        const failure = error instanceof ScannerUnavailable
          ? error
          : new ScannerUnavailable('connection_lost', { cause: error })
        ctx?.log?.error('virus_scan_failed', { ...fields(), reason: failure.reason })
        throw failure
      }
    },
  }
}

/** The scanner the configuration names; config parsing already refused an incomplete one. */
export function scannerFromConfig(
  config: Pick<
    Config,
    | 'LEAPS_SCANNER'
    | 'LEAPS_CLAMD_SOCKET'
    | 'LEAPS_CLAMD_HOST'
    | 'LEAPS_CLAMD_PORT'
    | 'LEAPS_CLAMD_TIMEOUT_MS'
  >,
): Scanner {
  switch (config.LEAPS_SCANNER) {
    case 'disabled':
      return disabledScanner
    case 'clamd': {
      const target: ClamdTarget | undefined = config.LEAPS_CLAMD_SOCKET
        ? { socket: config.LEAPS_CLAMD_SOCKET }
        : config.LEAPS_CLAMD_HOST && config.LEAPS_CLAMD_PORT
        ? { host: config.LEAPS_CLAMD_HOST, port: config.LEAPS_CLAMD_PORT }
        : undefined
      if (!target) throw new TypeError('LEAPS_SCANNER=clamd without a socket or host and port')
      return clamdScanner({ target, timeoutMs: config.LEAPS_CLAMD_TIMEOUT_MS })
    }
  }
}
