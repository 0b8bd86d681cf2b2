/**
 * The virus scanner against a real clamd, started here in a temporary folder on a free
 * 127.0.0.1 port and a Unix socket, with the project's EICAR-only signature database; and
 * against small local servers that misbehave, to show that every failure fails closed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ClamdLayout,
  STREAM_MAX_BYTES,
  startClamd,
  waitForClamd,
} from '../../stack/lib/clamd.ts'
import { StackError } from '../../stack/lib/cluster.ts'
import { projectRoot } from '../../stack/lib/profile.ts'
import { stopPid } from '../../stack/lib/stack.ts'
import { ConfigError, parseConfig } from '../../functions/_shared/config.ts'
import type { Logger, LogFields } from '../../functions/_shared/log.ts'
import {
  clamdScanner,
  type ScanFailure,
  ScannerUnavailable,
  scannerFromConfig,
} from '../../functions/_shared/scanner.ts'

// Built from parts, so this file is not itself the test virus.
const EICAR = new TextEncoder().encode(
  ['X5O!P%@AP[4\\PZX5', '4(P^)7CC)7}$EICAR', '-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join(''),
)
/** clamd marks names from a database it did not get from ClamAV as unofficial. */
const EICAR_SIGNATURE = 'Leaps.Test.EICAR.UNOFFICIAL'
const STREAM_MAX = 1024 * 1024

const bytes = (text: string) => new TextEncoder().encode(text)

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function* stream(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part
}

/** Splits data into pieces of the given sizes, cycling through them. */
function split(data: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let at = 0, i = 0; at < data.length; i += 1) {
    const size = sizes[i % sizes.length]!
    out.push(data.subarray(at, at + size))
    at += size
  }
  return out
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** The scan's ScannerUnavailable, with its reason (one of them) checked. */
async function failure(
  scan: Promise<unknown>,
  reason: ScanFailure | ScanFailure[],
): Promise<ScannerUnavailable> {
  const error = await scan.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(ScannerUnavailable)
  const unavailable = error as ScannerUnavailable
  expect([reason].flat()).toContain(unavailable.reason)
  expect(unavailable.code).toBe('unavailable')
  expect(unavailable.status).toBe(503)
  expect(unavailable.message).toMatch(/^The file was not scanned: /)
  return unavailable
}

function recordingLogger(): Logger & { lines: Array<[string, string, LogFields]> } {
  const lines: Array<[string, string, LogFields]> = []
  const at = (level: string) => (event: string, fields: LogFields = {}) => {
    lines.push([level, event, fields])
  }
  return { lines, info: at('info'), warn: at('warn'), error: at('error') }
}

interface FakeServer {
  port: number
  close(): Promise<void>
}

/** A TCP server on 127.0.0.1 that handles each connection as told: a misbehaving clamd. */
async function fakeClamd(onConnection: (socket: net.Socket) => void): Promise<FakeServer> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    onConnection(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/** Collects a whole INSTREAM request, then calls back with its payload bytes. */
function onInstream(socket: net.Socket, then: (payload: Uint8Array) => void): void {
  let received = Buffer.alloc(0)
  socket.on('data', (data: Buffer) => {
    received = Buffer.concat([received, data])
    let at = 'zINSTREAM\0'.length
    const payload: Buffer[] = []
    while (at + 4 <= received.length) {
      const length = received.readUInt32BE(at)
      if (length === 0) return then(Buffer.concat(payload))
      if (at + 4 + length > received.length) return
      payload.push(received.subarray(at + 4, at + 4 + length))
      at += 4 + length
    }
  })
}

describe('clamd scanner against a real clamd', () => {
  let dir: string
  let port: number
  let layout: ClamdLayout
  let pid: number | undefined

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'leaps-clamd-'))
    port = await freePort()
    const started = await startClamd({ dir, port, streamMaxBytes: STREAM_MAX })
    pid = started.child.pid
    layout = started.layout
    await waitForClamd({ dir, port }, started.child)
  })

  afterAll(async () => {
    await stopPid(pid)
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const tcp = () => clamdScanner({ target: { host: '127.0.0.1', port } })

  it('finds a clean file clean', async () => {
    expect(await tcp().scan(bytes('a lesson plan about fractions\n'))).toEqual({ verdict: 'clean' })
  })

  it('finds the EICAR test file, with the name of the signature', async () => {
    expect(EICAR.length).toBe(68)
    expect(await tcp().scan(EICAR)).toEqual({ verdict: 'infected', signature: EICAR_SIGNATURE })
  })

  it('finds EICAR inside a larger file, split across INSTREAM chunks', async () => {
    const file = concat(new Uint8Array(5000).fill(0x20), EICAR, new Uint8Array(3000).fill(0x0a))
    const scanner = clamdScanner({ target: { host: '127.0.0.1', port }, chunkBytes: 7 })
    expect(await scanner.scan(file)).toEqual({ verdict: 'infected', signature: EICAR_SIGNATURE })
  })

  it('finds EICAR split across the pieces of a stream', async () => {
    const file = concat(bytes('%PDF-1.7\n'), EICAR, bytes('\n%%EOF\n'))
    const scanner = tcp()
    expect(await scanner.scan(stream(...split(file, [1, 13, 2, 40]))))
      .toEqual({ verdict: 'infected', signature: EICAR_SIGNATURE })
  })

  it('does not end the stream at an empty piece (regression: rest left unscanned)', async () => {
    const verdict = await tcp().scan(stream(bytes('header\n'), new Uint8Array(0), EICAR))
    expect(verdict).toEqual({ verdict: 'infected', signature: EICAR_SIGNATURE })
  })

  it('scans over the Unix socket too', async () => {
    expect(layout.socket).toBeDefined()
    const scanner = clamdScanner({ target: { socket: layout.socket! } })
    expect(await scanner.scan(bytes('clean'))).toEqual({ verdict: 'clean' })
    expect(await scanner.scan(EICAR)).toEqual({ verdict: 'infected', signature: EICAR_SIGNATURE })
  })

  it('accepts a file of exactly StreamMaxLength bytes', async () => {
    expect(await tcp().scan(new Uint8Array(STREAM_MAX).fill(0x41))).toEqual({ verdict: 'clean' })
  })

  // clamd answers "INSTREAM size limit exceeded. ERROR" and closes while the rest is still
  // being sent; when the reset reaches our next write before the answer is read, Node drops
  // the answer, and the scan fails as a lost connection instead. Closed either way.
  const oversize: ScanFailure[] = ['too_large', 'connection_lost']

  it('fails closed on a file larger than StreamMaxLength', async () => {
    const large = new Uint8Array(2 * STREAM_MAX).fill(0x41)
    const error = await failure(tcp().scan(large), oversize)
    if (error.reason === 'too_large') {
      expect(error.message)
        .toBe('The file was not scanned: the file is larger than the virus scanner accepts')
    }
  })

  it('fails closed on a large stream too, with EICAR past the limit', async () => {
    const filler = new Uint8Array(64 * 1024).fill(0x41)
    const pieces = [...Array.from({ length: 20 }, () => filler), EICAR]
    await failure(tcp().scan(stream(...pieces)), oversize)
  })

  it('logs the verdict, size and duration of a scan, never its content', async () => {
    const log = recordingLogger()
    await tcp().scan(EICAR, { log })
    expect(log.lines).toHaveLength(1)
    const [level, event, fields] = log.lines[0]!
    expect([level, event]).toEqual(['warn', 'virus_found'])
    expect(fields).toMatchObject({ scanner: 'clamd', bytes: 68, signature: EICAR_SIGNATURE })
    expect(typeof fields.duration_ms).toBe('number')
    expect(JSON.stringify(log.lines)).not.toContain('EICAR-STANDARD')
  })

  it('fails when the scan is cancelled', async () => {
    const controller = new AbortController()
    controller.abort()
    await failure(tcp().scan(EICAR, { signal: controller.signal }), 'aborted')
  })

  it('fails closed when the input cannot be read', async () => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield bytes('start')
      throw new Error('client went away')
    }
    const error = await failure(tcp().scan(broken()), 'unreadable_input')
    expect((error.cause as Error).message).toBe('client went away')
  })
})

describe('clamd scanner when clamd is not there', () => {
  it('fails at once, not after the timeout, when clamd has stopped', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'leaps-clamd-'))
    const port = await freePort()
    try {
      const { child, layout } = await startClamd({ dir, port, streamMaxBytes: STREAM_MAX })
      await waitForClamd({ dir, port }, child)
      const scanner = clamdScanner({ target: { host: '127.0.0.1', port } })
      expect(await scanner.scan(EICAR)).toMatchObject({ verdict: 'infected' })
      await stopPid(child.pid)

      for (const target of [{ host: '127.0.0.1', port }, { socket: layout.socket! }]) {
        const log = recordingLogger()
        const started = Date.now()
        const error = await failure(clamdScanner({ target }).scan(EICAR, { log }), 'unreachable')
        expect(Date.now() - started).toBeLessThan(1000)
        expect(error.message).toBe('The file was not scanned: the virus scanner cannot be reached')
        expect(log.lines.map(([level, event, f]) => [level, event, f.reason]))
          .toEqual([['error', 'virus_scan_failed', 'unreachable']])
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses a taken port (clamd would run on without TCP, another answering)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'leaps-clamd-'))
    const taken = await fakeClamd(() => {})
    try {
      const error = await startClamd({ dir, port: taken.port }).then(() => undefined,
        (e: unknown) => e)
      expect(error).toBeInstanceOf(StackError)
      expect((error as StackError).message)
        .toBe(`cannot start clamd: 127.0.0.1:${taken.port} is already in use`)
    } finally {
      await taken.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('reports a clamd that exits while starting as a StackError with its errors', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'leaps-clamd-'))
    const port = await freePort()
    try {
      const { child } = await startClamd({ dir, port, streamMaxBytes: -5 })
      const error = await waitForClamd({ dir, port }, child)
        .then(() => undefined, (e: unknown) => e)
      await stopPid(child.pid)
      expect(error).toBeInstanceOf(StackError)
      expect((error as StackError).message)
        .toMatch(new RegExp(`^clamd (exited \\(code 1\\)|reported an error).*:${port}$`))
      expect((error as StackError).hint).toContain('Incorrect argument format for option')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('clamd scanner against servers that are not clamd', () => {
  it('times out on a server that accepts and never answers', async () => {
    const silent = await fakeClamd(() => {})
    try {
      const scanner = clamdScanner({ target: { host: '127.0.0.1', port: silent.port },
        timeoutMs: 300 })
      const started = Date.now()
      const error = await failure(scanner.scan(EICAR), 'timeout')
      expect(Date.now() - started).toBeGreaterThanOrEqual(250)
      expect(Date.now() - started).toBeLessThan(3000)
      expect(error.message)
        .toBe('The file was not scanned: the virus scanner did not answer in time')
    } finally {
      await silent.close()
    }
  })

  it('times out on a server that stops reading a large file', async () => {
    const silent = await fakeClamd((socket) => socket.pause())
    try {
      const scanner = clamdScanner({ target: { host: '127.0.0.1', port: silent.port },
        timeoutMs: 300 })
      await failure(scanner.scan(new Uint8Array(32 * 1024 * 1024)), 'timeout')
    } finally {
      await silent.close()
    }
  })

  it('refuses an answer that is not clamd\'s, without repeating it or the file', async () => {
    const secret = 'NIK 3171234567890001 of a pupil'
    const replies = [
      (payload: Uint8Array) => Buffer.concat([Buffer.from(payload), Buffer.from([0])]),
      (payload: Uint8Array) => Buffer.from(`stream: ${Buffer.from(payload).toString()} OK\0`),
      () => Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'),
      () => Buffer.from('x'.repeat(5000)),
    ]
    for (const reply of replies) {
      const garbage = await fakeClamd((socket) => onInstream(socket, (payload) => {
        socket.end(reply(payload))
      }))
      try {
        const log = recordingLogger()
        const scanner = clamdScanner({ target: { host: '127.0.0.1', port: garbage.port } })
        const error = await failure(scanner.scan(bytes(secret), { log }), 'malformed_reply')
        expect(JSON.stringify({ message: error.message, cause: String(error.cause) }))
          .not.toContain('3171234567890001')
        expect(JSON.stringify(log.lines)).not.toContain('3171234567890001')
      } finally {
        await garbage.close()
      }
    }
  })

  it('fails closed on an ERROR answer', async () => {
    const erring = await fakeClamd((socket) => onInstream(socket, () => {
      socket.end('stream: lstat() failed: Permission denied. ERROR\0')
    }))
    try {
      const scanner = clamdScanner({ target: { host: '127.0.0.1', port: erring.port } })
      await failure(scanner.scan(EICAR), 'scanner_error')
    } finally {
      await erring.close()
    }
  })

  it('fails closed when the connection closes without an answer', async () => {
    const closing = await fakeClamd((socket) => onInstream(socket, () => socket.end()))
    try {
      const scanner = clamdScanner({ target: { host: '127.0.0.1', port: closing.port } })
      await failure(scanner.scan(EICAR), 'connection_lost')
    } finally {
      await closing.close()
    }
  })
})

describe('clamd stream limit', () => {
  it('equals the file size limit of the evidence bucket', () => {
    const buckets = readFileSync(
      path.join(projectRoot, 'sql', 'data', '30_storage_buckets.sql'), 'utf8')
    const limit = /\('evidence',\s*'evidence',\s*(?:true|false),\s*(\d+)/.exec(buckets)?.[1]
    expect(Number(limit)).toBe(STREAM_MAX_BYTES)
  })
})

describe('scanner configuration', () => {
  const base = {
    SUPABASE_URL: 'http://127.0.0.1:54321',
    SUPABASE_ANON_KEY: 'anon-key-anon-key-anon-key',
    SUPABASE_SERVICE_ROLE_KEY: 'service-key-service-key-service',
    SUPABASE_DB_URL: 'postgresql://postgres:postgres@127.0.0.1:54322/postgres',
    SUPABASE_JWT_SECRET: 'x'.repeat(40),
  }

  it('refuses to start without a scanner: there is no silent default', () => {
    expect(() => parseConfig(base)).toThrow(ConfigError)
    expect(() => parseConfig(base))
      .toThrow('LEAPS_SCANNER: must be "clamd" or "disabled"; there is no default')
    expect(() => parseConfig({ ...base, LEAPS_SCANNER: 'off' })).toThrow(/LEAPS_SCANNER: must be/)
  })

  it('needs either a socket or a host and port for clamd', () => {
    const message = 'LEAPS_SCANNER: clamd needs LEAPS_CLAMD_SOCKET, or else LEAPS_CLAMD_HOST ' +
      'and LEAPS_CLAMD_PORT'
    const clamd = { ...base, LEAPS_SCANNER: 'clamd' }
    expect(() => parseConfig(clamd)).toThrow(message)
    expect(() => parseConfig({ ...clamd, LEAPS_CLAMD_HOST: '127.0.0.1' })).toThrow(message)
    expect(() => parseConfig({ ...clamd, LEAPS_CLAMD_SOCKET: '/run/clamd.sock',
      LEAPS_CLAMD_HOST: '127.0.0.1', LEAPS_CLAMD_PORT: '3310' })).toThrow(message)
    expect(() => parseConfig({ ...clamd, LEAPS_CLAMD_SOCKET: 'clamd.sock' }))
      .toThrow('LEAPS_CLAMD_SOCKET: must be an absolute path')
    const config = parseConfig({ ...clamd, LEAPS_CLAMD_HOST: '127.0.0.1',
      LEAPS_CLAMD_PORT: '3310' })
    expect(config.LEAPS_CLAMD_PORT).toBe(3310)
    expect(config.LEAPS_CLAMD_TIMEOUT_MS).toBe(10_000)
    expect(scannerFromConfig(config).kind).toBe('clamd')
  })

  it('scans nothing only when disabled explicitly, and logs each skipped scan', async () => {
    const scanner = scannerFromConfig(parseConfig({ ...base, LEAPS_SCANNER: 'disabled' }))
    expect(scanner.kind).toBe('disabled')
    const log = recordingLogger()
    expect(await scanner.scan(EICAR, { log })).toEqual({ verdict: 'clean' })
    expect(log.lines).toEqual([['warn', 'virus_scan_skipped', { scanner: 'disabled' }]])
  })

  it('fails closed with the configured clamd target when nothing listens there', async () => {
    const port = await freePort()
    const scanner = scannerFromConfig(parseConfig({ ...base, LEAPS_SCANNER: 'clamd',
      LEAPS_CLAMD_HOST: '127.0.0.1', LEAPS_CLAMD_PORT: String(port) }))
    await failure(scanner.scan(EICAR), 'unreachable')
  })
})
