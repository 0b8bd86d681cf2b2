/**
 * Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits), as the
 * authenticator apps that Supabase Auth's TOTP factors pair with compute them. Used by the
 * local Auth stand-in to check codes and by `npm run totp` to make one for a demo account.
 * Web Crypto only, so it runs in Deno and in Node alike.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** Decodes a base32 secret (RFC 4648, padding and spaces ignored). */
export function base32Decode(secret: string): Uint8Array {
  const clean = secret.toUpperCase().replace(/[\s=]/g, '')
  const out: number[] = []
  let bits = 0
  let value = 0
  for (const c of clean) {
    const index = ALPHABET.indexOf(c)
    if (index === -1) throw new TypeError('not a base32 secret')
    value = (value << 5) | index
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return new Uint8Array(out)
}

/** The code for the 30-second step that holds `atMs`. */
export async function totpCode(secret: string, atMs = Date.now()): Promise<string> {
  const counter = Math.floor(atMs / 1000 / 30)
  const message = new Uint8Array(8)
  new DataView(message.buffer).setBigUint64(0, BigInt(counter))
  const key = await crypto.subtle.importKey('raw', base32Decode(secret) as Uint8Array<ArrayBuffer>,
    { name: 'HMAC', hash: 'SHA-1' }, false, ['sign'])
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, message))
  const offset = mac[mac.length - 1]! & 0x0f
  const number = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16)
    | (mac[offset + 2]! << 8) | mac[offset + 3]!
  return String(number % 1_000_000).padStart(6, '0')
}

/** Whether `code` is right now, or one step either side (clocks drift). */
export async function totpValid(secret: string, code: string, atMs = Date.now()): Promise<boolean> {
  if (!/^[0-9]{6}$/.test(code)) return false
  for (const step of [-1, 0, 1]) {
    if (await totpCode(secret, atMs + step * 30_000) === code) return true
  }
  return false
}
