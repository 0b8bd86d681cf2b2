/**
 * The Supabase platform APIs the functions need, behind one small interface: reading and
 * removing Storage objects, and deleting or banning an Auth user. Calls go to SUPABASE_URL
 * with the service-role key; the local stack answers them itself
 * (stack/functions/platform-apis.ts). Removing something already gone (404) counts as done;
 * any other failure throws PlatformError.
 */

export interface Platform {
  /** The object's bytes as a stream, or null when Storage has no such object. */
  readObject(bucket: string, path: string): Promise<ReadableStream<Uint8Array> | null>
  removeObject(bucket: string, path: string): Promise<void>
  deleteUser(id: string): Promise<void>
  banUser(id: string): Promise<void>
}

export class PlatformError extends Error {}

export function platform(baseUrl: string, serviceKey: string): Platform {
  const send = async (method: string, path: string, body?: unknown, timeoutMs = 10_000,
  ): Promise<Response> => {
    try {
      return await fetch(new URL(path, baseUrl), {
        method,
        headers: {
          authorization: `Bearer ${serviceKey}`,
          apikey: serviceKey,
          'content-type': 'application/json',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
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
    banUser: (id) => call('PUT', `/auth/v1/admin/users/${id}`, { ban_duration: '876000h' }),
  }
}
