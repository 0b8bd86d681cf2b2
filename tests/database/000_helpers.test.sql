-- Test helpers shared by every pgTAP file in this folder. This file sorts first and creates
-- them outside any transaction, idempotently, so the other files can call them; it then
-- checks that they exist and changes no data.
--
-- Fixture helpers write as the table owner and must be called with no actor set (after
-- tests.clear_actor()). The actor helpers switch role and claims the way PostgREST does,
-- for the rest of the transaction; they have no SET clause, because a function with one
-- would undo the role change when it returns.


create schema if not exists tests;
comment on schema tests is
    'pgTAP helpers for tests/database; holds no data and is never exposed through the API.';
grant usage on schema tests to anon, authenticated, service_role;


-- A member as Supabase Auth would create one: an auth.users row, whose trigger creates the
-- profile, then the fields administrators assign, written as the table owner.
create or replace function tests.create_member(
    handle text,
    role public.app_role default 'PARTICIPANT',
    status public.account_status default 'ACTIVE',
    visibility public.visibility default 'PRIVATE',
    mfa_verified boolean default false,
    deleted boolean default false
)
returns uuid
language plpgsql
set search_path = ''
as $$
declare
    member_id uuid := extensions.gen_random_uuid();
begin
    insert into auth.users (id, email, email_confirmed_at, raw_user_meta_data)
    values (
        member_id,
        create_member.handle || '@test.example.com',
        pg_catalog.now(),
        pg_catalog.jsonb_build_object('handle', create_member.handle,
            'name', 'Name of ' || create_member.handle)
    );

    update public.users as u
    set role = create_member.role,
        status = create_member.status,
        visibility = create_member.visibility,
        school = 'School of ' || create_member.handle,
        region = 'Region of ' || create_member.handle,
        cohort = 'test',
        deleted_at = case when create_member.deleted then pg_catalog.now() end
    where u.id = member_id
        and u.handle = create_member.handle;

    if not found then
        raise exception 'tests.create_member: handle "%" was not taken as given',
            create_member.handle
            using hint = 'Use a fresh handle matching ^[a-z0-9_]{3,32}$.';
    end if;

    if create_member.mfa_verified then
        perform tests.add_mfa_factor(member_id, 'verified');
    end if;

    return member_id;
end
$$;


create or replace function tests.add_mfa_factor(member uuid, factor_status text)
returns uuid
language sql
set search_path = ''
as $$
    insert into auth.mfa_factors (id, user_id, friendly_name, factor_type, status)
    values (extensions.gen_random_uuid(), member, 'test authenticator', 'totp', factor_status)
    returning id
$$;


-- Fixture submissions are written as the owner of the table, so the status can be set
-- directly and no points are credited (points follow only an UPDATE to APPROVED).
create or replace function tests.create_submission(
    owner uuid,
    title text default 'Test submission',
    status public.submission_status default 'PENDING',
    visibility public.visibility default 'PRIVATE',
    activity public.activity_code default 'LEARN'
)
returns uuid
language sql
set search_path = ''
as $$
    insert into public.submissions
        (owner_id, activity_code, title, payload, status, visibility, reviewed_at)
    values (
        owner,
        activity,
        title,
        '{"hours": 2}'::jsonb,
        status,
        visibility,
        case when status <> 'PENDING' then pg_catalog.now() end
    )
    returning id
$$;


create or replace function tests.create_attachment(submission uuid, file_name text)
returns uuid
language sql
set search_path = ''
as $$
    insert into public.submission_attachments
        (submission_id, owner_id, storage_path, file_name, mime_type, byte_size, sha256)
    select s.id, s.owner_id, s.owner_id || '/' || s.id || '/' || file_name, file_name,
        'application/pdf', 1024, pg_catalog.repeat('a', 64)
    from public.submissions as s
    where s.id = submission
    returning id
$$;


create or replace function tests.add_points(member uuid, delta integer)
returns bigint
language sql
set search_path = ''
as $$
    insert into public.points_ledger (user_id, delta, reason, awarded_by)
    values (member, delta, 'test adjustment', null)
    returning id
$$;


create or replace function tests.create_badge(badge_id text, threshold integer default null)
returns text
language sql
set search_path = ''
as $$
    insert into public.badges (id, name, description, points_threshold)
    values (badge_id, 'Badge ' || badge_id, 'test badge', threshold)
    returning id
$$;


create or replace function tests.give_badge(member uuid, badge_id text)
returns void
language sql
set search_path = ''
as $$
    insert into public.earned_badges (user_id, badge_id, awarded_by)
    values (member, badge_id, null)
$$;


-- The auth session a signed-in member's token names (Supabase Auth writes one per sign-in).
-- For an id with no auth user it opens nothing and returns a fresh id that names no session.
create or replace function tests.open_session(member uuid, aal text)
returns uuid
language plpgsql
set search_path = ''
as $$
declare
    session_id uuid := extensions.gen_random_uuid();
begin
    if exists (select 1 from auth.users as a where a.id = member) then
        insert into auth.sessions (id, user_id, aal)
        values (session_id, member, case when aal in ('aal1', 'aal2') then aal else 'aal1' end);
    end if;
    return session_id;
end
$$;


-- Act as a signed-in member: the role and claims PostgREST sets for a verified token, with
-- the session it names. extra_claims are merged in, for claims a real token may carry but
-- policies must ignore.
create or replace function tests.act_as(
    member uuid,
    aal text default 'aal1',
    extra_claims jsonb default '{}'
)
returns void
language plpgsql
as $$
declare
    session_id uuid;
begin
    -- Back to the owner first (allowed from any role), who may open the session.
    execute 'set local role none';
    session_id := tests.open_session(member, aal);
    execute 'set local role authenticated';
    perform pg_catalog.set_config(
        'request.jwt.claims',
        (
            pg_catalog.jsonb_build_object(
                'sub', member,
                'role', 'authenticated',
                'aal', aal,
                'session_id', session_id
            )
            || extra_claims
        )::text,
        true
    );
end
$$;


-- Act as a caller holding only the anon key.
create or replace function tests.act_as_anon()
returns void
language plpgsql
as $$
begin
    execute 'set local role anon';
    perform pg_catalog.set_config('request.jwt.claims', '{"role": "anon"}', true);
end
$$;


-- Act as the server side, holding the service-role key.
create or replace function tests.act_as_service()
returns void
language plpgsql
as $$
begin
    execute 'set local role service_role';
    perform pg_catalog.set_config('request.jwt.claims', '{"role": "service_role"}', true);
end
$$;


-- Back to the session user (the table owner) with no claims, to set up or inspect data.
create or replace function tests.clear_actor()
returns void
language plpgsql
as $$
begin
    execute 'set local role none';
    perform pg_catalog.set_config('request.jwt.claims', '', true);
end
$$;


-- What the current caller gets from `select * from rel`: 'refused' (42501), 'empty' or
-- 'rows'. Any other error propagates, so a broken relation fails the test loudly.
create or replace function tests.select_outcome(rel regclass)
returns text
language plpgsql
as $$
declare
    found_rows bigint;
begin
    execute pg_catalog.format('select count(*) from (select * from %s) as t', rel)
    into found_rows;
    return case when found_rows = 0 then 'empty' else 'rows' end;
exception
    when insufficient_privilege then
        return 'refused';
end
$$;


revoke all on all functions in schema tests from public;
grant execute on function
    tests.act_as(uuid, text, jsonb),
    tests.act_as_anon(),
    tests.act_as_service(),
    tests.clear_actor(),
    tests.select_outcome(regclass)
    to anon, authenticated, service_role;


begin;
set local search_path = public, extensions;
select plan(1);

select ok(
    (
        select pg_catalog.count(*)
        from pg_catalog.pg_proc as p
        where p.pronamespace = 'tests'::regnamespace
            and p.proname in (
                'create_member', 'add_mfa_factor', 'create_submission', 'create_attachment',
                'add_points', 'create_badge', 'give_badge', 'act_as', 'act_as_anon',
                'act_as_service', 'clear_actor', 'select_outcome'
            )
    ) = 12,
    'the test helpers exist in schema tests'
);

select * from finish();
rollback;
