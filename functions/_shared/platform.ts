/**
 * The Supabase platform APIs the functions need, behind one small interface: reading and
 * removing Storage objects, and deleting or banning an Auth user. Calls go to SUPABASE_URL
 * with the service-role key; the local stack answers them itself
 * (stack/functions/platform-apis.ts). Removing something already gone (404) counts as done;
 * any other failure throws PlatformError.
 */

export interface Platform {
  /** Stores a new object (never replaces one); throws PlatformError when Storage refuses. */
  putObject(bucket: string, path: string, bytes: Uint8Array, contentType: string): Promise<void>
  /**
   * A link that reads the object without a token until `expiresIn` seconds have passed;
   * Storage checks the signature and the expiry, and the link dies with the object.
   */
  signObject(bucket: string, path: string, expiresIn: number): Promise<string>
  /** The object's bytes as a stream, or null when Storage has no such object. */
  readObject(bucket: string, path: string): Promise<ReadableStream<Uint8Array> | null>
  removeObject(bucket: string, path: string): Promise<void>
  deleteUser(id: string): Promise<void>
  banUser(id: string): Promise<void>
  /** Bans an Auth user without touching their details: containment, to be lifted later. */
  suspendUser(id: string): Promise<void>
}

export class PlatformError extends Error {}

export function platform(baseUrl: string, serviceKey: string): Platform {
  const send = async (method: string, path: string, body?: unknown, timeoutMs = 10_000,
    contentType = 'application/json'): Promise<Response> => {
    try {
      return await fetch(new URL(path, baseUrl), {
        method,
        headers: {
          authorization: `Bearer ${serviceKey}`,
          apikey: serviceKey,
          'content-type': contentType,
        },
        body: body === undefined
          ? undefined
          : body instanceof Uint8Array
          ? body as Uint8Array<ArrayBuffer>
          : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (error) {
      throw new PlatformError(`${method} ${path.split('/').slice(0, 4).join('/')}: `
        + `${(error as Error).message}`)
    }
  }
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await send(method, path, body)
    await res.body?.cancel()
    if (!res.ok && res.status !== 404) {
      throw new PlatformError(`${method} ${path.split('/').slice(0, 4).join('/')}: ${res.status}`)
    }
  }
  const object = (bucket: string, path: string) =>
    `/storage/v1/object/${encodeURIComponent(bucket)}/${path.split('/').map(encodeURIComponent)
      .join('/')}`
  return {
    async putObject(bucket, path, bytes, contentType) {
      const res = await send('POST', object(bucket, path), bytes, 60_000, contentType)
      await res.body?.cancel()
      if (!res.ok) throw new PlatformError(`POST /storage/v1/object: ${res.status}`)
    },
    async signObject(bucket, path, expiresIn) {
      const res = await send('POST', object(bucket, path).replace('/object/', '/object/sign/'),
        { expiresIn })
      if (!res.ok) {
        await res.body?.cancel()
        throw new PlatformError(`POST /storage/v1/object/sign: ${res.status}`)
      }
      const { signedURL } = await res.json() as { signedURL?: string }
      if (typeof signedURL !== 'string' || !signedURL.startsWith('/')) {
        throw new PlatformError('POST /storage/v1/object/sign: no signedURL in the answer')
      }
      return new URL(`/storage/v1${signedURL}`, baseUrl).href
    },
    async readObject(bucket, path) {
      // The timeout covers reading the body as well: a minute for one evidence file.
      const res = await send('GET', object(bucket, path), undefined, 60_000)
      if (res.status === 404 || res.status === 400) {
        await res.body?.cancel()
        return null
      }
      if (!res.ok || !res.body) {
        await res.body?.cancel()
        throw new PlatformError(`GET /storage/v1/object: ${res.status}`)
      }
      return res.body
    },
    removeObject: (bucket, path) => call('DELETE', object(bucket, path)),
    deleteUser: (id) => call('DELETE', `/auth/v1/admin/users/${id}`),
    suspendUser: (id) => call('PUT', `/auth/v1/admin/users/${id}`, { ban_duration: '876000h' }),
    // Banned for a hundred years, and stripped of what identifies the person: the address
    // becomes a placeholder under the reserved .invalid domain (confirmed, so no mail is sent).
    banUser: (id) => call('PUT', `/auth/v1/admin/users/${id}`, {
      ban_duration: '876000h',
      email: `${id}@erased.invalid`,
      email_confirm: true,
      phone: '',
      user_metadata: {},
    }),
  }
}
