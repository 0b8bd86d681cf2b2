-- Functions clients call to manage accounts. They are the only way to change a role or an
-- account status: clients hold no UPDATE grant on those columns.


create function public.set_user_role(target_user uuid, new_role public.app_role)
returns public.app_role
language plpgsql
security definer
set search_path = ''
as $$
declare
    caller uuid := auth.uid();
    caller_role public.app_role := private.caller_role();
    old_role public.app_role;
begin
    -- Authorization failures share one message so that nothing is learned from them.
    if caller is null
        or caller_role is null
        or caller_role < 'ADMIN'
        or coalesce(auth.jwt() ->> 'aal', '') <> 'aal2'
        or target_user = caller
    then
        raise exception 'not allowed to change this member''s role'
            using errcode = 'insufficient_privilege';
    end if;

    select u.role
    into old_role
    from public.users as u
    where u.id = target_user
        and u.deleted_at is null
    for update;

    if not found then
        raise exception 'member % not found', target_user
            using errcode = 'no_data_found';
    end if;

    -- Granting, or taking away, ADMIN or SUPERADMIN is for a SUPERADMIN only.
    if (new_role >= 'ADMIN' or old_role >= 'ADMIN') and caller_role < 'SUPERADMIN' then
        raise exception 'not allowed to change this member''s role'
            using errcode = 'insufficient_privilege',
                hint = 'Only a SUPERADMIN grants or removes ADMIN and SUPERADMIN.';
    end if;

    if new_role >= 'ADMIN' and not exists (
        select 1
        from auth.mfa_factors as f
        where f.user_id = target_user
            and f.status = 'verified'
    ) then
        raise exception 'member % has no verified MFA factor', target_user
            using errcode = 'object_not_in_prerequisite_state',
                hint = 'The member must enrol and verify an MFA factor before promotion.';
    end if;

    if new_role = old_role then
        return new_role;
    end if;

    update public.users
    set role = new_role
    where id = target_user;

    insert into private.role_changes (user_id, old_role, new_role, changed_by)
    values (target_user, old_role, new_role, caller);

    return new_role;
end
$$;

comment on function public.set_user_role(uuid, public.app_role) is
    'Changes a member''s role. Caller: ADMIN or above at aal2, never on themselves; granting or '
    'removing ADMIN/SUPERADMIN needs a SUPERADMIN; promotion to ADMIN+ needs a verified MFA '
    'factor on the target. Recorded in private.role_changes.';


create function public.set_user_status(target_user uuid, new_status public.account_status)
returns public.account_status
language plpgsql
security definer
set search_path = ''
as $$
declare
    caller uuid := auth.uid();
    target_role public.app_role;
    old_status public.account_status;
begin
    if caller is null
        or not private.authorize('user:manage')
        or coalesce(auth.jwt() ->> 'aal', '') <> 'aal2'
        or target_user = caller
    then
        raise exception 'not allowed to change this member''s status'
            using errcode = 'insufficient_privilege';
    end if;

    select u.role, u.status
    into target_role, old_status
    from public.users as u
    where u.id = target_user
        and u.deleted_at is null
    for update;

    if not found then
        raise exception 'member % not found', target_user
            using errcode = 'no_data_found';
    end if;

    if target_role >= 'ADMIN' and private.caller_role() < 'SUPERADMIN' then
        raise exception 'not allowed to change this member''s status'
            using errcode = 'insufficient_privilege',
                hint = 'Only a SUPERADMIN suspends an ADMIN or SUPERADMIN.';
    end if;

    if new_status = old_status then
        return new_status;
    end if;

    update public.users
    set status = new_status
    where id = target_user;

    insert into private.status_changes (user_id, old_status, new_status, changed_by)
    values (target_user, old_status, new_status, caller);

    return new_status;
end
$$;

comment on function public.set_user_status(uuid, public.account_status) is
    'Suspends or reactivates a member. Caller: user:manage at aal2, never on themselves; '
    'only a SUPERADMIN changes the status of an ADMIN or SUPERADMIN. Recorded in '
    'private.status_changes.';


-- Supabase Auth calls this before issuing a token (configured in supabase/config.toml). The
-- role it adds is for the client's interface only: no policy reads it.
create function private.custom_access_token_hook(event jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
    claims jsonb := coalesce(event -> 'claims', '{}'::jsonb);
    member record;
begin
    select u.role, u.status
    into member
    from public.users as u
    where u.id = (event ->> 'user_id')::uuid
        and u.deleted_at is null;

    -- No profile: claim nothing rather than a default role.
    if not found then
        return event;
    end if;

    claims := pg_catalog.jsonb_set(
        claims,
        '{app_metadata}',
        case
            when pg_catalog.jsonb_typeof(claims -> 'app_metadata') = 'object'
                then claims -> 'app_metadata'
            else '{}'::jsonb
        end
            || pg_catalog.jsonb_build_object(
                'leaps_role', member.role::text,
                'leaps_status', member.status::text
            )
    );
    return pg_catalog.jsonb_set(event, '{claims}', claims);
end
$$;

comment on function private.custom_access_token_hook(jsonb) is
    'Custom access token hook: copies the role of record into app_metadata.leaps_role of new '
    'tokens for the client''s interface. Policies never trust it.';


revoke all on function public.set_user_role(uuid, public.app_role) from public, anon;
revoke all on function public.set_user_status(uuid, public.account_status) from public, anon;
grant execute on function public.set_user_role(uuid, public.app_role) to authenticated;
grant execute on function public.set_user_status(uuid, public.account_status) to authenticated;

revoke all on function private.custom_access_token_hook(jsonb) from public, anon, authenticated;
grant usage on schema private to supabase_auth_admin;
grant execute on function private.custom_access_token_hook(jsonb) to supabase_auth_admin;


-- Belt and braces: whatever was created before the default above took effect, no function of
-- ours stays executable by PUBLIC; the grants by name above are kept.
revoke execute on all functions in schema private from public;
revoke execute on all functions in schema public from public;
