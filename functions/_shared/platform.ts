/**
 * The Supabase platform APIs erasure needs, behind one small interface: removing a Storage
 * object, and deleting or banning an Auth user. Calls go to SUPABASE_URL with the service-role
 * key; the local stack answers them itself (stack/functions/platform-apis.ts). Something
 * already gone (404) counts as done; any other failure throws PlatformError.
 */

export interface Platform {
  removeObject(bucket: string, path: string): Promise<void>
  deleteUser(id: string): Promise<void>
  banUser(id: string): Promise<void>
}

export class PlatformError extends Error {}

export function platform(baseUrl: string, serviceKey: string): Platform {
  const call = async (method: string, path: string, body?: unknown) => {
    let res: Response
    try {
      res = await fetch(new URL(path, baseUrl), {
        method,
        headers: {
          authorization: `Bearer ${serviceKey}`,
          apikey: serviceKey,
          'content-type': 'application/json',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      })
    } catch (error) {
      throw new PlatformError(`${method} ${path.split('/').slice(0, 4).join('/')}: `
        + `${(error as Error).message}`)
    }
    await res.body?.cancel()
    if (!res.ok && res.status !== 404) {
      throw new PlatformError(`${method} ${path.split('/').slice(0, 4).join('/')}: ${res.status}`)
    }
  }
  const object = (bucket: string, path: string) =>
    `/storage/v1/object/${encodeURIComponent(bucket)}/${path.split('/').map(encodeURIComponent)
      .join('/')}`
  return {
    removeObject: (bucket, path) => call('DELETE', object(bucket, path)),
    deleteUser: (id) => call('DELETE', `/auth/v1/admin/users/${id}`),
    banUser: (id) => call('PUT', `/auth/v1/admin/users/${id}`, { ban_duration: '876000h' }),
  }
}
