/**
 * Local stand-ins for the two Supabase platform APIs that erasure needs, served by the
 * functions gateway next to the functions themselves:
 *
 *   DELETE /storage/v1/object/<bucket>/<path>   removes a Storage object (its row in
 *                                              storage.objects; the local stack keeps no bytes)
 *   DELETE /auth/v1/admin/users/<id>            deletes an Auth user
 *   PUT    /auth/v1/admin/users/<id>            {"ban_duration": "876000h" | "none"} bans or
 *                                              unbans one, and clears its e-mail and phone
 *
 * Both require the service-role key as a Bearer token, as the real APIs do. Deleting what is
 * already gone answers 404, which callers treat as done. An object whose metadata holds
 * "simulate_failure": true cannot be deleted (503), to try retries against.
 */
import postgres from 'postgres'

type Json = Record<string, unknown>

function reply(status: number, body: Json): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  })
}

export function platformApis(dbUrl: string, serviceKey: string) {
  const sql = postgres(dbUrl, { max: 2, onnotice: () => {} })

  return async (req: Request, url: URL): Promise<Response | undefined> => {
    const storage = /^\/storage\/v1\/object\/([a-z0-9_-]+)\/(.+)$/.exec(url.pathname)
    const auth = /^\/auth\/v1\/admin\/users\/([0-9a-f-]{36})$/i.exec(url.pathname)
    if (!storage && !auth) return undefined
    if (req.headers.get('authorization') !== `Bearer ${serviceKey}`) {
      return reply(401, { error: 'unauthorized', message: 'the service-role key is required' })
    }
    if (storage && req.method === 'DELETE') {
      const [bucket, name] = [storage[1]!, decodeURIComponent(storage[2]!)]
      // An object whose metadata says so fails like an unavailable Storage service would,
      // so that the callers' retries can be exercised.
      const [faulty] = await sql`select 1 from storage.objects where bucket_id = ${bucket}
        and name = ${name} and metadata ->> 'simulate_failure' = 'true'`
      if (faulty) return reply(503, { error: 'unavailable', message: 'simulated failure' })
      const gone = await sql`delete from storage.objects
                             where bucket_id = ${bucket} and name = ${name} returning id`
      return gone.length > 0
        ? reply(200, { message: 'removed' })
        : reply(404, { error: 'not_found', message: 'no such object' })
    }
    if (auth && req.method === 'DELETE') {
      const gone = await sql`delete from auth.users where id = ${auth[1]!} returning id`
      return gone.length > 0
        ? reply(200, { id: auth[1] })
        : reply(404, { error: 'user_not_found', message: 'no such user' })
    }
    if (auth && req.method === 'PUT') {
      const body = await req.json().catch(() => ({})) as Json
      const ban = body.ban_duration
      if (ban !== 'none' && ban !== '876000h') {
        return reply(400, { error: 'bad_request', message: 'ban_duration: "876000h" or "none"' })
      }
      const changed = await sql`
        update auth.users
        set banned_until = ${ban === 'none' ? null : 'infinity'},
            email = case when ${ban} = 'none' then email end,
            phone = case when ${ban} = 'none' then phone end
        where id = ${auth[1]!}
        returning id`
      return changed.length > 0
        ? reply(200, { id: auth[1] })
        : reply(404, { error: 'user_not_found', message: 'no such user' })
    }
    return reply(405, { error: 'method_not_allowed', message: 'not supported here' })
  }
}
