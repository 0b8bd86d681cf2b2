-- Helpers that RLS policies call. Each reads the role of record from public.users, never
-- from a JWT claim or a client-settable setting, so a demotion, suspension or soft delete
-- takes effect on the caller's next statement. Policies call them as `(select ...)` so that
-- they run once per statement rather than once per row. The definer helpers are PL/pgSQL, not
-- SQL: a SECURITY DEFINER SQL function cannot be inlined and would be planned again on every
-- call, while PL/pgSQL keeps its plans for the session.


-- Not SECURITY DEFINER on purpose: it is only called from the definer functions below and in
-- 50_account_functions.sql, which read public.users with their owner's rights, and without
-- the definer's search_path switch each call is cheaper. Every name is schema-qualified.
-- Clients cannot execute it.
create function private.caller_role()
returns public.app_role
language plpgsql
stable
as $$
begin
    return (
        select u.role
        from public.users as u
        where u.id = auth.uid()
            and u.status = 'ACTIVE'
            and u.deleted_at is null
    );
end
$$;

comment on function private.caller_role() is
    'Role of record of the calling user; null when there is no caller or the account is '
    'suspended or soft-deleted.';


create function private.authorize(requested_permission text)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    lowest public.app_role;
    held public.app_role;
begin
    -- One query for both facts: policies call this on every statement.
    select p.lowest_role, u.role
    into lowest, held
    from private.permissions as p
    left join public.users as u
        on u.id = auth.uid()
        and u.status = 'ACTIVE'
        and u.deleted_at is null
    where p.permission = requested_permission;

    if not found then
        raise exception 'unknown permission "%"', requested_permission
            using errcode = 'invalid_parameter_value',
                hint = 'Permissions are listed in private.permissions.';
    end if;

    return coalesce(held >= lowest, false);
end
$$;

comment on function private.authorize(text) is
    'True when the calling user is active and their role holds the permission.';


create function private.session_allowed()
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    held public.app_role;
    claims jsonb := auth.jwt();
    session_aal text;
begin
    -- The token's session must still exist: signing out, or an erasure, ends it at once rather
    -- than when the token expires. A privileged session must really be at aal2, not only say so.
    if (claims ->> 'session_id') !~* '^[0-9a-f-]{36}$' then
        return false;
    end if;

    -- The profile as private.caller_role() reads it, and the session, in one lookup: policies
    -- call this once per statement.
    select u.role, s.aal
    into held, session_aal
    from public.users as u
    join auth.sessions as s
        on s.id = (claims ->> 'session_id')::uuid
        and s.user_id = u.id
        and (s.not_after is null or s.not_after > pg_catalog.now())
    where u.id = auth.uid()
        and u.status = 'ACTIVE'
        and u.deleted_at is null;

    -- No active profile (none, suspended or soft-deleted) or no live session: refused.
    if held is null then
        return false;
    end if;
    if held < 'ADMIN' then
        return true;
    end if;
    if session_aal is distinct from 'aal2' or coalesce(claims ->> 'aal', '') <> 'aal2' then
        return false;
    end if;
    -- During an incident (switch admin_reauth_required) an administrator's last sign-in step,
    -- the newest timestamp in the token's amr, must be under 10 minutes old.
    if (select s.enabled from private.platform_switches as s
        where s.name = 'admin_reauth_required')
    then
        return coalesce((
            select pg_catalog.max((e ->> 'timestamp')::bigint)
            from pg_catalog.jsonb_array_elements(case
                when pg_catalog.jsonb_typeof(claims -> 'amr') = 'array' then claims -> 'amr'
                else '[]'::jsonb end) as e
            where e ->> 'timestamp' ~ '^[0-9]{1,12}$'), 0)
            > extract(epoch from pg_catalog.now()) - 600;
    end if;
    return true;
end
$$;

comment on function private.session_allowed() is
    'False for callers without an active profile or whose session (claim session_id) has '
    'ended, and for ADMIN or SUPERADMIN sessions that have not completed multi-factor '
    'authentication (aal2 in auth.sessions and in the token). Used by restrictive policies.';


revoke all on function private.caller_role() from public;
revoke all on function private.authorize(text) from public;
revoke all on function private.session_allowed() from public;
grant execute on function private.authorize(text) to authenticated, service_role;
grant execute on function private.session_allowed() to authenticated, service_role;
